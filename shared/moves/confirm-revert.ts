import type { Instance } from '../domain/instance.js';
import { InstanceActionName, TaskState } from '../domain/instance-states.js';
import type { Migration, MigrationStatus } from '../domain/migration.js';
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

/** A decision on a move in VERIFY_RESIZE: its action, task state and migration status, and the host command that carries it out. */
interface Decision {
  action: typeof InstanceActionName.CONFIRM_RESIZE | typeof InstanceActionName.REVERT_RESIZE;
  taskState: TaskState;
  status: MigrationStatus;
  send(i: MovingInstance, requestId: string): Promise<void>;
}

/** The task state, the migration status and the action recorded, in one conditional transaction; then the host command. False when the instance or migration changed. */
async function startDecision(i: MovingInstance, m: Migration, who: Requester, d: Decision): Promise<boolean> {
  const now = new Date().toISOString();
  const action = newAction({ instanceId: i.id, action: d.action, requestId: who.requestId, userId: who.userId, projectId: who.projectId }, now);
  const changes = { task_state: d.taskState, task_deadline: deadlineFor(d.taskState) };
  if (!(await transact([versionedUpdate(i, changes, now), migrationUpdate(m.uuid, ['finished'], { status: d.status }, now), actionPut(action)]))) return false;
  await d.send(i, who.requestId);
  return true;
}

/** Starts a confirm (the API's, or the sweeper's once resize_confirm_window passed): resize_confirming, migration `confirming`; then the source drops its copy. */
export const startConfirm = (i: MovingInstance, m: Migration, who: Requester) =>
  startDecision(i, m, who, { action: InstanceActionName.CONFIRM_RESIZE, taskState: TaskState.RESIZE_CONFIRMING, status: 'confirming', send: sendConfirmResize });

/** Starts a revert: resize_reverting, migration `reverting`; then the destination destroys its guest. */
export const startRevert = (i: MovingInstance, m: Migration, who: Requester) =>
  startDecision(i, m, who, { action: InstanceActionName.REVERT_RESIZE, taskState: TaskState.RESIZE_REVERTING, status: 'reverting', send: sendRevertResize });
