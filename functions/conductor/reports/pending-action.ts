import type { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { ACTION_EVENTS, SNAPSHOT_ACTIONS } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { ActionDoneReportSchema, ActionFailedReportSchema } from '../../../shared/messages/conductor.js';
import { eventFinish, listActions, newestTaskAction, type InstanceAction } from '../../../shared/store/instance-actions.js';
import { getInstance, transact, versionedUpdate, type InstanceChanges } from '../../../shared/store/instances.js';
import { GUEST_ACTION_OUTCOMES } from './guest-action-outcomes.js';
import { settleSnapshotWithoutInstance } from './snapshot-without-instance.js';

export type ActionReport = z.infer<typeof ActionDoneReportSchema> | z.infer<typeof ActionFailedReportSchema>;

export interface PendingAction {
  instance: Instance;
  action: InstanceAction;
  event: string;
}

/** How a report ends the task: what else changes on the instance, and the event's failure (null when it succeeded). */
export interface TaskEnd {
  changes: InstanceChanges;
  failure: string | null;
}

/**
 * Ends the task a host's report is about: the instance leaves the task state (with `end`'s
 * changes) and the action's event finishes, in one conditional transaction, retried while other
 * writers change the instance. Returns what was applied, or undefined for a stale or repeated
 * report (a snapshot's image is still settled then).
 */
export async function endPendingTask(
  report: ActionReport,
  end: (pending: PendingAction) => Promise<TaskEnd>,
): Promise<{ instance: Instance; changes: InstanceChanges } | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const pending = await pendingAction(report);
    if (!pending) {
      if (SNAPSHOT_ACTIONS.has(report.action)) await settleSnapshotWithoutInstance(report);
      return undefined;
    }
    const { instance, action, event } = pending;
    const { changes: outcome, failure } = await end(pending);
    const changes: InstanceChanges = { task_state: null, task_deadline: null, power_state: report.power_state, ...outcome };
    const finish = eventFinish(instance.id, action.request_id, {
      event,
      start_time: report.started_at,
      finish_time: report.at,
      result: failure === null ? 'Success' : 'Error',
      traceback: failure,
    });
    if (await transact([versionedUpdate(instance, changes), finish])) return { instance, changes };
  }
  // Another writer kept changing the instance: let the queue deliver the report again.
  const what = report.type === 'action_failed' ? `the failed ${report.action}` : report.action;
  throw new Error(`could not apply ${what} of ${report.instance_id}: the instance kept changing`);
}

/**
 * The instance and action a host's report is about, if the instance still waits for exactly
 * that: on that host, in the action's task state, the action being the newest task asked of
 * it and its event not finished yet. Anything else is a stale or repeated report: undefined.
 */
async function pendingAction(report: ActionReport): Promise<PendingAction | undefined> {
  const ignore = (why: string) => {
    logger.info('ignoring a stale or repeated action report', { action: report.action, request_id: report.request_id, why });
    return undefined;
  };
  const instance = await getInstance(report.instance_id);
  if (!instance) return ignore('instance gone');
  if (instance.host !== report.host) return ignore(`instance is on ${instance.host}`);
  // One consistent read of the instance's actions answers both: is this one pending, and is it the newest task?
  const actions = await listActions(instance.id, true);
  const action = actions.find((a) => a.request_id === report.request_id);
  if (!action || action.action !== report.action) return ignore('no such action');
  const event = ACTION_EVENTS[report.action]!;
  if (action.events[event]?.done !== false) return ignore('event finished already');
  if (newestTaskAction(actions)?.request_id !== action.request_id) return ignore('a later action replaced it');
  if (!instance.task_state || !GUEST_ACTION_OUTCOMES[report.action].tasks.includes(instance.task_state)) {
    return ignore(`instance is in task ${instance.task_state}`);
  }
  return { instance, action, event };
}
