import type { Instance } from '../../../../shared/domain/instance.js';
import { stateRefusal, type InstanceActionName, type StateRule, type TaskState } from '../../../../shared/domain/instance-states.js';
import { Conflict, InstanceInvalidState } from '../../../../shared/errors.js';
import { logger } from '../../../../shared/logger.js';
import { sendHostCommand } from '../../../../shared/messages/host-commands.js';
import type { HostCommand } from '../../../../shared/messages/host.js';
import { actionPut, newAction, type InstanceAction } from '../../../../shared/store/instance-actions.js';
import { deadlineFor, transact, versionedUpdate, type InstanceChanges } from '../../../../shared/store/instances.js';
import type { ApiRequest } from '../../http/types.js';
import { checkNotLocked, loadInstance } from '../server-access.js';

/** Checks Nova makes before any action on an instance: lock (check_instance_lock) and states (check_instance_state). */
export function checkActionAllowed(req: ApiRequest, instance: Instance, action: InstanceActionName, rule: StateRule, lockApplies = true): void {
  if (lockApplies) checkNotLocked(req, instance);
  const refusal = stateRefusal(rule, instance);
  if (refusal) throw new InstanceInvalidState(action, refusal.attr, refusal.state, instance.id);
}

/** Nova's check_instance_host: actions carried out by a host need one. */
export function checkHasHost(instance: Instance): asserts instance is Instance & { host: string } {
  if (!instance.host) throw new Conflict(`Instance ${instance.id} is not ready`);
}

export interface GuestTask {
  /** The instance action recorded, also the name in the 409 message. */
  action: InstanceActionName;
  rule: StateRule;
  taskState: TaskState;
  /** Whether a locked instance refuses it (Nova does not lock out snapshots). */
  lockApplies?: boolean;
  /** Changes made with the task state (a rebuild's new image). */
  changes?: (i: Instance) => InstanceChanges;
  snapshot?: InstanceAction['snapshot'];
  /** The host command, built from the instance as updated. */
  command(i: Instance, requestId: string): HostCommand | Promise<HostCommand>;
}

/**
 * The API half of every host action: in one conditional transaction, put the instance in the
 * action's task state (with its deadline, so the sweeper notices a lost message) and record the
 * instance action; then send the command to the instance's host. A parallel writer makes it
 * re-read and check again. Returns the instance as written.
 */
export async function startGuestTask(req: ApiRequest, task: GuestTask): Promise<Instance> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const instance = await loadInstance(req);
    checkActionAllowed(req, instance, task.action, task.rule, task.lockApplies ?? true);
    checkHasHost(instance);
    const now = new Date().toISOString();
    const changes: InstanceChanges = { ...task.changes?.(instance), task_state: task.taskState, task_deadline: deadlineFor(task.taskState) };
    const action = newAction(
      { instanceId: instance.id, action: task.action, requestId: req.requestId, userId: req.auth.user_id, projectId: req.auth.project_id, snapshot: task.snapshot },
      now,
    );
    if (!(await transact([versionedUpdate(instance, changes, now), actionPut(action)]))) continue;
    const updated: Instance = { ...instance, ...changes, updated_at: now, version: instance.version + 1 };
    if (!(await sendHostCommand(instance.host, await task.command(updated, req.requestId)))) {
      // The sweeper ends the task at its deadline.
      logger.error('the instance host has no queue; the task will time out', { instance_id: instance.id, host: instance.host });
    }
    return updated;
  }
  throw new Conflict('The server was changed by another request at the same time; try again.');
}
