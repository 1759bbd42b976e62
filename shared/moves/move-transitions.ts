import type { FlavorSnapshot, Instance } from '../domain/instance.js';
import { PowerState, VmState } from '../domain/instance-states.js';
import type { Migration, MigrationStatus } from '../domain/migration.js';
import { zoneOf } from '../domain/host.js';
import { flavorGrowth } from '../domain/quota.js';
import { getHost } from '../store/hosts.js';
import { keys } from '../store/keys.js';
import { migrationUpdate } from '../store/migrations.js';
import { claimOnHostRelease, hostClaimRelease, transact, versionedUpdate, type InstanceChanges } from '../store/instances.js';
import { tableName, type TransactItem } from '../store/table.js';
import type { MovingInstance } from './move-commands.js';

/**
 * The state changes that end a move, each one conditional transaction: the instance (on the
 * version read), the migration (on its status), the claim released and the quota the move held
 * beyond the flavor the server keeps. A repeated or late report fails its conditions and changes
 * nothing, so every claim and quota is released exactly once.
 */

/** The quota a move held above `kept` (it held the larger of both flavors), given back. */
function quotaGiveBack(i: Instance, kept: FlavorSnapshot, other: FlavorSnapshot): TransactItem[] {
  const { cores, ram } = flavorGrowth(kept, other);
  if (!cores && !ram) return [];
  const release = { UpdateExpression: 'ADD cores :c, ram :r', ExpressionAttributeValues: { ':c': -cores, ':r': -ram } };
  return [
    { Update: { TableName: tableName(), Key: keys.quotaUsage(i.project_id), ...release } },
    { Update: { TableName: tableName(), Key: keys.userQuotaUsage(i.project_id, i.user_id), ...release } },
  ];
}

/** One claim of the move given back: the host's usage, and the group placement when the claim was on a host of its own. */
function claimGiveBack(i: Instance, host: string, flavor: FlavorSnapshot, keptHost: string): TransactItem[] {
  return host !== keptHost ? claimOnHostRelease(i, host, flavor) : [hostClaimRelease(host, flavor)];
}

const zoneOfHost = async (host: string, fallback: string | null) => {
  const h = await getHost(host);
  return h ? zoneOf(h) : fallback;
};

const ACTIVE_STATUSES: readonly MigrationStatus[] = ['pre-migrating', 'migrating', 'post-migrating', 'finished', 'confirming', 'reverting'];

/**
 * The move failed (a host's report, or its deadline): the server is on its source again with the
 * old flavor, in its old state (`error` puts it in ERROR), the destination's claim and the extra
 * quota given back, the migration in error. Returns whether this call applied it.
 */
export async function rollBackMove(i: MovingInstance, m: Migration, reason: string, o: { error?: boolean; powerState?: number } = {}): Promise<boolean> {
  const { move } = i;
  const releases = move.on_dest && i.claimed_host
    ? claimGiveBack(i, i.claimed_host, i.flavor, move.source_host)
    : move.other_claim
      ? claimGiveBack(i, move.other_claim.host, move.other_claim.flavor, move.source_host)
      : [];
  const now = new Date().toISOString();
  const changes: InstanceChanges = {
    vm_state: o.error ? VmState.ERROR : move.old_vm_state,
    task_state: null,
    task_deadline: null,
    flavor: move.old_flavor,
    host: move.source_host,
    claimed_host: move.source_host,
    availability_zone: await zoneOfHost(move.source_host, i.availability_zone),
    move: null,
    fault: { code: 500, message: reason, created: now },
    ...(o.powerState !== undefined ? { power_state: o.powerState } : {}),
  };
  return transact([versionedUpdate(i, changes, now), migrationUpdate(m.uuid, ACTIVE_STATUSES, { status: 'error', error: reason }, now), ...releases, ...quotaGiveBack(i, move.old_flavor, move.new_flavor)]);
}

/** The destination runs the guest: VERIFY_RESIZE there with the new flavor; the source keeps its claim (and copy) until confirm or revert. */
export async function finishMove(i: MovingInstance, m: Migration, powerState: number): Promise<boolean> {
  const { move } = i;
  const dest = move.dest_host!;
  const now = new Date().toISOString();
  const changes: InstanceChanges = {
    vm_state: VmState.RESIZED,
    task_state: null,
    task_deadline: null,
    power_state: powerState,
    flavor: move.new_flavor,
    host: dest,
    claimed_host: dest,
    availability_zone: await zoneOfHost(dest, i.availability_zone),
    move: { ...move, on_dest: true, other_claim: { host: move.source_host, flavor: move.old_flavor } },
    fault: null,
  };
  return transact([versionedUpdate(i, changes, now), migrationUpdate(m.uuid, ['post-migrating'], { status: 'finished' }, now)]);
}

/** The source dropped its copy: the move is over, the source's claim and the old flavor's extra quota given back. */
export async function completeConfirm(i: MovingInstance, m: Migration): Promise<boolean> {
  const { move } = i;
  const now = new Date().toISOString();
  const changes: InstanceChanges = {
    vm_state: i.power_state === PowerState.SHUTDOWN ? VmState.STOPPED : VmState.ACTIVE,
    task_state: null,
    task_deadline: null,
    move: null,
  };
  const releases = move.other_claim ? claimGiveBack(i, move.other_claim.host, move.other_claim.flavor, i.claimed_host ?? move.dest_host!) : [];
  return transact([versionedUpdate(i, changes, now), migrationUpdate(m.uuid, ['finished', 'confirming'], { status: 'confirmed' }, now), ...releases, ...quotaGiveBack(i, move.new_flavor, move.old_flavor)]);
}

/** The source runs the old guest again: the move is undone, the destination's claim and the new flavor's extra quota given back. */
export async function completeRevert(i: MovingInstance, m: Migration, powerState: number): Promise<boolean> {
  const { move } = i;
  const now = new Date().toISOString();
  const changes: InstanceChanges = {
    vm_state: powerState === PowerState.SHUTDOWN ? VmState.STOPPED : VmState.ACTIVE,
    task_state: null,
    task_deadline: null,
    power_state: powerState,
    flavor: move.old_flavor,
    host: move.source_host,
    claimed_host: move.source_host,
    availability_zone: await zoneOfHost(move.source_host, i.availability_zone),
    move: null,
  };
  const releases = i.claimed_host ? claimGiveBack(i, i.claimed_host, i.flavor, move.source_host) : [];
  return transact([versionedUpdate(i, changes, now), migrationUpdate(m.uuid, ['reverting'], { status: 'reverted' }, now), ...releases, ...quotaGiveBack(i, move.old_flavor, move.new_flavor)]);
}
