import type { Instance } from '../../../shared/domain/instance.js';
import { ACTION_EVENTS } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { GuestAction } from '../../../shared/messages/conductor.js';
import { getAction, latestTaskAction, type InstanceAction } from '../../../shared/store/instance-actions.js';
import { getInstance } from '../../../shared/store/instances.js';
import { GUEST_ACTION_OUTCOMES } from './guest-action-outcomes.js';

export interface PendingAction {
  instance: Instance;
  action: InstanceAction;
  event: string;
}

/**
 * The instance and action a host's report is about, if the instance still waits for exactly
 * that: on that host, in the action's task state, the action being the newest task asked of
 * it and its event not finished yet. Anything else is a stale or repeated report: undefined.
 */
export async function pendingAction(report: { host: string; instance_id: string; request_id: string; action: GuestAction }): Promise<PendingAction | undefined> {
  const ignore = (why: string) => {
    logger.info('ignoring a stale or repeated action report', { action: report.action, request_id: report.request_id, why });
    return undefined;
  };
  const instance = await getInstance(report.instance_id);
  if (!instance) return ignore('instance gone');
  if (instance.host !== report.host) return ignore(`instance is on ${instance.host}`);
  const action = await getAction(instance.id, report.request_id);
  if (!action || action.action !== report.action) return ignore('no such action');
  const event = ACTION_EVENTS[report.action]!;
  if (action.events[event]?.done !== false) return ignore('event finished already');
  if ((await latestTaskAction(instance.id))?.request_id !== action.request_id) return ignore('a later action replaced it');
  if (!instance.task_state || !GUEST_ACTION_OUTCOMES[report.action].tasks.includes(instance.task_state)) {
    return ignore(`instance is in task ${instance.task_state}`);
  }
  return { instance, action, event };
}
