import type { z } from 'zod';
import { TaskState } from '../../shared/domain/instance-states.js';
import type { Migration } from '../../shared/domain/migration.js';
import { logger } from '../../shared/logger.js';
import type { MoveRequestSchema } from '../../shared/messages/scheduler.js';
import { sendResizeInstance, type MovingInstance } from '../../shared/moves/move-commands.js';
import { finishMoveEvent, moveActionOf } from '../../shared/moves/move-events.js';
import { rollBackMove } from '../../shared/moves/move-transitions.js';
import { aggregateUnchanged } from '../../shared/store/aggregates.js';
import { deadlineFor, diskOf, getInstance, versionedUpdate, writeTransaction } from '../../shared/store/instances.js';
import { getMigration, migrationUpdate } from '../../shared/store/migrations.js';
import { placementClaimItems } from '../../shared/store/server-groups.js';
import { cancelledIndexes, isConditionFailure } from '../../shared/store/table.js';
import type { Host } from '../../shared/domain/host.js';
import type { Aggregate } from '../../shared/domain/aggregate.js';
import { ratioAggregatesOf } from './allocation-ratios.js';
import { hostClaimUpdate } from './claim.js';
import { storedRequestSpec, type RequestSpec } from './request-spec.js';
import { noValidHostMessage, selectStoredHosts } from './select-hosts.js';
import { CLAIM_ATTEMPTS, GROUP_CLAIM_ATTEMPTS } from './schedule-instance.js';

type MoveRequest = z.infer<typeof MoveRequestSchema>;

/**
 * Places a move (Nova's conductor MigrationTask): the same filters, weighers and claim as a boot,
 * for the new flavor, the source host left out unless the migration allows it, an admin's host
 * the only candidate. The destination's claim goes in one transaction with the instance (its
 * move's second claim) and the migration (`migrating`); then the source is told to set the disk
 * aside. Safe to run twice: a move placed already only gets its command sent again.
 */
export async function scheduleMove(msg: MoveRequest): Promise<void> {
  const migration = await getMigration(msg.migration_id);
  let instance = await getInstance(msg.instance_id);
  let lostRoom = 0;
  let lostToGroup = 0;
  while (lostRoom < CLAIM_ATTEMPTS && lostToGroup < GROUP_CLAIM_ATTEMPTS) {
    if (!migration || !instance || instance.move?.migration_id !== migration.uuid) return logger.info('move is gone or over, nothing to place', { migration_id: msg.migration_id });
    const moving = instance as MovingInstance;
    if (instance.task_state === TaskState.RESIZE_MIGRATING && moving.move.dest_host) return sendResizeInstance(moving, msg.request_id);
    if (instance.task_state !== TaskState.RESIZE_PREP) return logger.info('move is no longer waiting for a host', { task_state: instance.task_state });

    const spec = await moveSpecOf(moving, migration);
    const { selection, best, aggregates } = await selectStoredHosts(spec);
    if (!best) return failNoValidHost(moving, migration, noValidHostMessage(selection));
    const result = await claimMoveHost(best, moving, migration, spec, aggregates);
    if (result === 'claimed') {
      logger.info('claimed the move destination', { instance_id: instance.id, host: best.host, migration_id: migration.uuid });
      const placed = (await getInstance(instance.id)) as MovingInstance;
      return sendResizeInstance(placed, msg.request_id);
    }
    if (result === 'group-policy') lostToGroup++;
    else lostRoom++;
    instance = await getInstance(instance.id);
  }
  if (instance?.move && migration) await failNoValidHost(instance as MovingInstance, migration, `No valid host was found. Lost the claim race ${lostRoom + lostToGroup} times.`);
}

/** The request spec of a move: the instance's, with the new flavor, its pinned zone only, and the hosts it may not go to. */
async function moveSpecOf(i: MovingInstance, m: Migration): Promise<RequestSpec> {
  const spec = await storedRequestSpec(i);
  const flavor = i.move.new_flavor;
  return {
    ...spec,
    vcpus: flavor.vcpus,
    memoryMb: flavor.ram,
    diskGb: diskOf({ flavor }),
    flavorExtraSpecs: flavor.extra_specs,
    // The zone the user asked for binds the move, not the one its first host happened to be in.
    availabilityZone: i.pinned_availability_zone ?? null,
    ignoreHosts: m.allow_same_host ? [] : [i.move.source_host],
    // As Nova's reset_forced_destinations: a boot's forced host does not bind later moves.
    forcedHost: null,
    requestedHost: m.requested_host,
  };
}

type MoveClaim = 'claimed' | 'host-full' | 'instance-changed' | 'group-policy';

async function claimMoveHost(host: Host, i: MovingInstance, m: Migration, spec: RequestSpec, aggregates: Aggregate[]): Promise<MoveClaim> {
  const dest = host.host;
  const instanceUpdate = versionedUpdate(i, {
    task_state: TaskState.RESIZE_MIGRATING,
    task_deadline: deadlineFor(TaskState.RESIZE_MIGRATING),
    move: { ...i.move, dest_host: dest, other_claim: { host: dest, flavor: i.move.new_flavor } },
  });
  const migrationItem = migrationUpdate(m.uuid, ['pre-migrating'], { status: 'migrating', dest_compute: dest, dest_node: dest, dest_host: host.host_ip });
  // On its own host the server holds its group place already.
  const groupItems = spec.group && dest !== i.move.source_host ? placementClaimItems(spec.group.group, dest) : [];
  const ratioItems = ratioAggregatesOf(aggregates, dest).map(aggregateUnchanged);
  try {
    await writeTransaction([hostClaimUpdate(host, spec, aggregates), instanceUpdate, migrationItem, ...groupItems, ...ratioItems]);
    return 'claimed';
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const refused = cancelledIndexes(err);
    if (refused.includes(1) || refused.includes(2)) return 'instance-changed';
    if (refused.includes(0)) return 'host-full';
    return refused.some((n) => n >= 3 + groupItems.length) ? 'host-full' : 'group-policy';
  }
}

/** As Nova's conductor: no host for the move leaves the server where it is, in its state, with the reason as its fault; the migration is in error. */
async function failNoValidHost(i: MovingInstance, m: Migration, message: string): Promise<void> {
  logger.warn('no valid host for the move', { instance_id: i.id, migration_id: m.uuid, message });
  if (!(await rollBackMove(i, m, message))) return;
  const now = new Date().toISOString();
  await finishMoveEvent(i.id, m.request_id, moveActionOf(m), { start: m.created_at, finish: now, error: message });
}
