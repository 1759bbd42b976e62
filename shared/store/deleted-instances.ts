/**
 * Deleted and soft-deleted instances. Nova keeps a deleted instance's row (deleted=1) until an
 * operator archives it, and lists it with `deleted=true` (admins) and `changes-since`; here a
 * record of it as deleted is written in the removal's transaction and expires with its instance
 * actions. A soft delete (Nova's reclaim_instance_interval) keeps the instance itself, powered
 * off and holding its host, but no longer counted in its project's quota, until it is restored,
 * force-deleted or reclaimed.
 */
import { InstanceSchema, type Instance } from '../domain/instance.js';
import { TaskState, VmState } from '../domain/instance-states.js';
import type { QuotaUsage } from '../domain/quota.js';
import { RETENTION_AFTER_DELETE_SECONDS, actionPut, expired, type InstanceAction } from './instance-actions.js';
import { quotaRelease, transact, usageOf, usageUpdate, versionedUpdate, writeTransaction, type InstanceChanges } from './instances.js';
import { byType, keys } from './keys.js';
import { cancelledIndexes, queryAll, tableName, type TransactItem } from './table.js';

const deletedKey = (id: string) => ({ pk: keys.instance(id).pk, sk: 'DELETED' });
const projectDeleted = (projectId: string) => `PROJECT#${projectId}#DELETED_INSTANCES`;

/** The put of the deleted-instance record, for the transaction that removes the instance. */
export function deletedRecordPut(i: Instance, now = new Date()): TransactItem {
  const at = now.toISOString();
  const record: Instance = { ...i, vm_state: VmState.DELETED, task_state: null, task_deadline: null, deleted_at: at, reclaim_at: null, updated_at: at };
  return {
    Put: {
      TableName: tableName(),
      Item: {
        ...deletedKey(i.id),
        type: 'deleted_instance',
        ...record,
        gsi1pk: projectDeleted(i.project_id),
        gsi1sk: `${at}#${i.id}`,
        gsi2pk: byType('DELETED_INSTANCE'),
        gsi2sk: `${at}#${i.id}`,
        expires_at: Math.floor(now.getTime() / 1000) + RETENTION_AFTER_DELETE_SECONDS,
      },
    },
  };
}

/** Deleted instances still on record: one project's, or every project's. */
export async function listDeletedInstances(projectId?: string): Promise<Instance[]> {
  const [index, partition] = projectId ? ['gsi1', projectDeleted(projectId)] : ['gsi2', byType('DELETED_INSTANCE')];
  const items = await queryAll({
    IndexName: index,
    KeyConditionExpression: `${index}pk = :p`,
    ExpressionAttributeValues: { ':p': partition },
  });
  return items.filter((item) => !expired(item)).map((item) => InstanceSchema.parse(item));
}

/**
 * Soft-deletes an instance in one conditional transaction: SOFT_DELETED at once, its quota
 * released, the power-off task started (its deadline as any task's) and recorded. Returns the
 * instance as written, or undefined when it changed meanwhile.
 */
export async function softDelete(i: Instance, action: InstanceAction, reclaimAfterSeconds: number, deadline: string, now = new Date()): Promise<Instance | undefined> {
  const at = now.toISOString();
  const changes: InstanceChanges = {
    vm_state: VmState.SOFT_DELETED,
    task_state: TaskState.SOFT_DELETING,
    task_deadline: deadline,
    deleted_at: at,
    reclaim_at: new Date(now.getTime() + reclaimAfterSeconds * 1000).toISOString(),
  };
  if (!(await transact([versionedUpdate(i, changes, at), ...quotaRelease(i), actionPut(action)]))) return undefined;
  return { ...i, ...changes, updated_at: at, version: i.version + 1 };
}

/**
 * Restores a soft-deleted instance: counted in its quota again (refused past `limits`, as a
 * create would be), ACTIVE with the power-on task running, in one conditional transaction.
 * Returns the instance as written; undefined when it changed meanwhile; 'over-quota' when the
 * project or user has no room for it.
 */
export async function restore(
  i: Instance,
  action: InstanceAction,
  limits: { project: QuotaUsage; user: QuotaUsage },
  deadline: string,
  now = new Date(),
): Promise<Instance | 'over-quota' | undefined> {
  const at = now.toISOString();
  const changes: InstanceChanges = { vm_state: VmState.ACTIVE, task_state: TaskState.RESTORING, task_deadline: deadline, deleted_at: null, reclaim_at: null };
  const want = usageOf([i]);
  const items = [
    usageUpdate(keys.quotaUsage(i.project_id), want, limits.project),
    usageUpdate(keys.userQuotaUsage(i.project_id, i.user_id), want, limits.user),
    versionedUpdate(i, changes, at),
    actionPut(action),
  ];
  const result = await transactReasons(items);
  if (result === 'done') return { ...i, ...changes, updated_at: at, version: i.version + 1 };
  return result.includes(0) || result.includes(1) ? 'over-quota' : undefined;
}

/** 'done', or the indexes of the items whose conditions refused the transaction. */
async function transactReasons(items: TransactItem[]): Promise<'done' | number[]> {
  try {
    await writeTransaction(items);
    return 'done';
  } catch (err) {
    const refused = cancelledIndexes(err);
    if (refused.length) return refused;
    throw err;
  }
}
