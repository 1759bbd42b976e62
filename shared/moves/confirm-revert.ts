import type { Instance } from '../domain/instance.js';
import { InstanceActionName, TaskState } from '../domain/instance-states.js';
import type { Migration } from '../domain/migration.js';
import { actionPut, newAction } from '../store/instance-actions.js';
import { deadlineFor, transact, versionedUpdate } from '../store/instances.js';
import { migrationUpdate } from '../store/migrations.js';
import { sendConfirmResize, sendRevertResize, type MovingInstance } from './move-commands.js';

export interface Requester {
  requestId: string;
  userId: string;
  projectId: string;
}

/** Whether the instance waits in VERIFY_RESIZE for a confirm or revert of this migration. */
export const awaitsConfirmation = (i: Instance, m: Migration): i is MovingInstance => i.move?.migration_id === m.uuid && i.move.on_dest && i.task_state === null && m.status === 'finished';

/**
 * Starts a confirm (the API's, or the sweeper's once resize_confirm_window passed): task
 * resize_confirming, migration `confirming`, the action recorded, in one conditional
 * transaction; then the source drops its copy. False when the instance or migration changed.
 */
export async function startConfirm(i: MovingInstance, m: Migration, who: Requester): Promise<boolean> {
  const now = new Date().toISOString();
  const action = newAction({ instanceId: i.id, action: InstanceActionName.CONFIRM_RESIZE, requestId: who.requestId, userId: who.userId, projectId: who.projectId }, now);
  const changes = { task_state: TaskState.RESIZE_CONFIRMING, task_deadline: deadlineFor(TaskState.RESIZE_CONFIRMING) };
  if (!(await transact([versionedUpdate(i, changes, now), migrationUpdate(m.uuid, ['finished'], { status: 'confirming' }, now), actionPut(action)]))) return false;
  await sendConfirmResize(i, who.requestId);
  return true;
}

/** Starts a revert: task resize_reverting, migration `reverting`, the action recorded; then the destination destroys its guest. */
export async function startRevert(i: MovingInstance, m: Migration, who: Requester): Promise<boolean> {
  const now = new Date().toISOString();
  const action = newAction({ instanceId: i.id, action: InstanceActionName.REVERT_RESIZE, requestId: who.requestId, userId: who.userId, projectId: who.projectId }, now);
  const changes = { task_state: TaskState.RESIZE_REVERTING, task_deadline: deadlineFor(TaskState.RESIZE_REVERTING) };
  if (!(await transact([versionedUpdate(i, changes, now), migrationUpdate(m.uuid, ['finished'], { status: 'reverting' }, now), actionPut(action)]))) return false;
  await sendRevertResize(i, who.requestId);
  return true;
}
