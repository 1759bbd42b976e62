import { randomUUID } from 'node:crypto';
import { config } from '../../../../shared/config.js';
import type { FlavorSnapshot, Instance, Move } from '../../../../shared/domain/instance.js';
import { InstanceActionName, TaskState, VmState } from '../../../../shared/domain/instance-states.js';
import type { Migration } from '../../../../shared/domain/migration.js';
import { flavorGrowth, serverLimits, type QuotaUsage } from '../../../../shared/domain/quota.js';
import { Conflict, QuotaExceeded } from '../../../../shared/errors.js';
import { SchedulerMessageSchema } from '../../../../shared/messages/scheduler.js';
import { sendMessage } from '../../../../shared/messages/send.js';
import { actionPut, newAction } from '../../../../shared/store/instance-actions.js';
import { deadlineFor, getQuotaUsage, getUserQuotaUsage, usageUpdate, versionedUpdate, writeTransaction } from '../../../../shared/store/instances.js';
import { keys } from '../../../../shared/store/keys.js';
import { migrationPut, nextMigrationId } from '../../../../shared/store/migrations.js';
import { projectLimits, userLimits } from '../../../../shared/store/quota-limits.js';
import { cancelledIndexes, isConditionFailure } from '../../../../shared/store/table.js';
import type { ApiRequest } from '../../http/types.js';
import { loadInstance } from '../server-access.js';
import { checkActionAllowed, checkHasHost } from './guest-task.js';

export interface MoveRequest {
  action: typeof InstanceActionName.RESIZE | typeof InstanceActionName.MIGRATE;
  /** The flavor it moves to, from the instance as read (checks that depend on it throw here). */
  newFlavor(i: Instance): Promise<FlavorSnapshot>;
  /** An admin's destination (migrate with `host`, 2.56). */
  requestedHost?: string | null;
  /** Checks on the instance as read (its host against the requested one, say). */
  check?(i: Instance): void | Promise<void>;
}

/**
 * The API half of resize and cold migrate (Nova's compute API resize): in one conditional
 * transaction, the instance goes to resize_prep with its move, the migration is recorded
 * (`pre-migrating`), the action too, and a resize up counts its extra cores and RAM against the
 * project's and user's quota (403 without room); then the scheduler is asked to place it.
 */
export async function startMove(req: ApiRequest, request: MoveRequest): Promise<Instance> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const instance = await loadInstance(req);
    checkActionAllowed(req, instance, request.action, 'resize');
    checkHasHost(instance);
    await request.check?.(instance);
    const newFlavor = await request.newFlavor(instance);
    const now = new Date().toISOString();
    const migration: Migration = {
      id: await nextMigrationId(),
      uuid: randomUUID(),
      instance_uuid: instance.id,
      migration_type: request.action === InstanceActionName.RESIZE ? 'resize' : 'migration',
      status: 'pre-migrating',
      source_compute: instance.host,
      source_node: instance.host,
      dest_compute: null,
      dest_node: null,
      dest_host: null,
      old_flavor_id: instance.flavor.id,
      new_flavor_id: newFlavor.id,
      user_id: req.auth.user_id,
      project_id: req.auth.project_id,
      requested_host: request.requestedHost ?? null,
      allow_same_host: request.action === InstanceActionName.RESIZE && config().ALLOW_RESIZE_TO_SAME_HOST,
      request_id: req.requestId,
      error: null,
      created_at: now,
      updated_at: now,
    };
    const move: Move = {
      migration_id: migration.uuid,
      old_flavor: instance.flavor,
      new_flavor: newFlavor,
      source_host: instance.host,
      dest_host: null,
      other_claim: null,
      on_dest: false,
      old_vm_state: instance.vm_state === VmState.STOPPED ? VmState.STOPPED : VmState.ACTIVE,
    };
    const changes = { task_state: TaskState.RESIZE_PREP, task_deadline: deadlineFor(TaskState.RESIZE_PREP), move, fault: null };
    const action = newAction({ instanceId: instance.id, action: request.action, requestId: req.requestId, userId: req.auth.user_id, projectId: req.auth.project_id }, now);
    // The move holds the larger flavor until it ends.
    const want = flavorGrowth(instance.flavor, newFlavor);
    const limits = want.cores || want.ram ? { project: serverLimits(await projectLimits(instance.project_id)), user: serverLimits(await userLimits(instance.project_id, instance.user_id)) } : undefined;
    const quota = limits ? [usageUpdate(keys.quotaUsage(instance.project_id), want, limits.project), usageUpdate(keys.userQuotaUsage(instance.project_id, instance.user_id), want, limits.user)] : [];
    try {
      await writeTransaction([versionedUpdate(instance, changes, now), migrationPut(migration), actionPut(action), ...quota]);
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const refused = cancelledIndexes(err);
      if (limits && (refused.includes(3) || refused.includes(4))) throw await quotaExceeded(instance, want, refused.includes(3) ? limits.project : limits.user, refused.includes(3));
      continue;
    }
    await sendMessage(config().SCHEDULER_QUEUE_URL, SchedulerMessageSchema, { type: 'move', request_id: req.requestId, instance_id: instance.id, migration_id: migration.uuid });
    return { ...instance, ...changes, updated_at: now, version: instance.version + 1 };
  }
  throw new Conflict('The server was changed by another request at the same time; try again.');
}

/** Nova's TooManyInstances for a resize: which resource, what was asked, used and allowed. */
async function quotaExceeded(i: Instance, want: QuotaUsage, limits: QuotaUsage, project: boolean): Promise<QuotaExceeded> {
  const used = project ? await getQuotaUsage(i.project_id) : await getUserQuotaUsage(i.project_id, i.user_id);
  const over = (['cores', 'ram'] as const).find((r) => used[r] + want[r] > limits[r]) ?? 'cores';
  return new QuotaExceeded(`Quota exceeded for ${over}: Requested ${want[over]}, but already used ${used[over]} of ${limits[over]} ${over}`);
}
