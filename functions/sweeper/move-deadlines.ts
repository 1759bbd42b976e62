import { randomUUID } from 'node:crypto';
import { config } from '../../shared/config.js';
import type { Instance } from '../../shared/domain/instance.js';
import { InstanceActionName, TaskState } from '../../shared/domain/instance-states.js';
import { logger } from '../../shared/logger.js';
import { awaitsConfirmation, startConfirm } from '../../shared/moves/confirm-revert.js';
import { sendRollback, type MovingInstance } from '../../shared/moves/move-commands.js';
import { finishMoveEvent, moveActionOf } from '../../shared/moves/move-events.js';
import { completeConfirm, rollBackMove } from '../../shared/moves/move-transitions.js';
import { getInstance, transact } from '../../shared/store/instances.js';
import { getMigration, listUnconfirmedBefore, migrationUpdate } from '../../shared/store/migrations.js';

const MOVE_TASKS = new Set<Instance['task_state']>([
  TaskState.RESIZE_PREP,
  TaskState.RESIZE_MIGRATING,
  TaskState.RESIZE_MIGRATED,
  TaskState.RESIZE_FINISH,
  TaskState.RESIZE_CONFIRMING,
  TaskState.RESIZE_REVERTING,
]);

export const isMoveTask = (i: Instance): i is MovingInstance => !!i.move && MOVE_TASKS.has(i.task_state);

/**
 * A move past its step's deadline (a host that died, a message lost). A confirm that timed out is
 * completed: the guest runs on the destination, and the source drops its copy whenever its
 * command arrives. Anything else sends the guest back to its source, in ERROR with a fault that
 * says which step timed out: the destination's claim and the extra quota are given back, the
 * destination destroys what it built and the source brings its copy back. Returns whether it applied.
 */
export async function timeOutMove(i: MovingInstance, requestId = 'req-sweeper'): Promise<boolean> {
  const migration = await getMigration(i.move.migration_id);
  if (!migration) return false;
  const at = new Date().toISOString();
  if (i.task_state === TaskState.RESIZE_CONFIRMING) {
    const done = await completeConfirm(i, migration);
    if (done) logger.warn('confirm of a move timed out; completed it', { instance_id: i.id, source: i.move.source_host });
    return done;
  }
  const reason = `Task ${i.task_state} of instance ${i.id} did not finish before its deadline ${i.task_deadline}`;
  if (!(await rollBackMove(i, migration, reason, { error: true }))) return false;
  logger.warn('move timed out, the server goes back to its source', { instance_id: i.id, task_state: i.task_state, source: i.move.source_host, dest: i.move.dest_host });
  await sendRollback(i, requestId);
  const action = i.task_state === TaskState.RESIZE_REVERTING ? InstanceActionName.REVERT_RESIZE : moveActionOf(migration);
  if (action !== InstanceActionName.REVERT_RESIZE) await finishMoveEvent(i.id, migration.request_id, action, { start: migration.created_at, finish: at, error: reason });
  return true;
}

/**
 * Nova's _poll_unconfirmed_resizes: with RESIZE_CONFIRM_WINDOW set, a server that has waited in
 * VERIFY_RESIZE that long is confirmed (as its owner, under a request id of its own). A
 * migration whose server is gone or no longer waits leaves the index, in error.
 */
export async function autoConfirmResizes(now = new Date()): Promise<number> {
  const window = config().RESIZE_CONFIRM_WINDOW;
  if (window <= 0) return 0;
  let confirmed = 0;
  for (const migration of await listUnconfirmedBefore(new Date(now.getTime() - window * 1000).toISOString())) {
    const instance = await getInstance(migration.instance_uuid);
    if (!instance || !awaitsConfirmation(instance, migration)) {
      if (!instance || instance.move?.migration_id !== migration.uuid) await transact([migrationUpdate(migration.uuid, ['finished'], { status: 'error', error: 'the server is gone or no longer waits for this migration' })]);
      continue;
    }
    const requestId = `req-${randomUUID()}`;
    if (await startConfirm(instance, migration, { requestId, userId: instance.user_id, projectId: instance.project_id })) {
      confirmed++;
      logger.info('confirmed a resize past resize_confirm_window', { instance_id: instance.id, migration_id: migration.uuid, window });
    }
  }
  return confirmed;
}
