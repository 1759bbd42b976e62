import { ACTION_EVENTS } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import { getInstance } from '../../../shared/store/instances.js';
import { finishEvent } from '../../../shared/store/instance-actions.js';
import type { ActionReport } from './pending-action.js';

/**
 * A host's report on an action that runs no task (trigger_crash_dump): the instance stays as it is
 * (Nova changes neither its task nor its power state: what an NMI does is up to the guest) and the
 * action's event finishes, once. A report from a host the instance is not on changes nothing.
 */
export async function finishTasklessAction(report: ActionReport): Promise<void> {
  const instance = await getInstance(report.instance_id);
  if (!instance || instance.host !== report.host) {
    logger.info('ignoring a report for an instance not on that host', { action: report.action, request_id: report.request_id });
    return;
  }
  const failure = report.type === 'action_failed' ? report.reason : null;
  const finished = await finishEvent(instance.id, report.request_id, {
    event: ACTION_EVENTS[report.action]!,
    start_time: report.started_at,
    finish_time: report.at,
    result: failure === null ? 'Success' : 'Error',
    traceback: failure,
  });
  if (!finished) logger.info('ignoring a repeated action report', { action: report.action, request_id: report.request_id });
  else if (failure !== null) logger.warn('instance action failed', { instance_id: instance.id, action: report.action, reason: failure });
  else logger.info('instance action done', { instance_id: instance.id, action: report.action });
}
