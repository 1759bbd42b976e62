import type { z } from 'zod';
import { TASKLESS_ACTIONS, VmState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { ActionFailedReportSchema } from '../../../shared/messages/conductor.js';
import { discardSnapshot } from '../../../shared/storage/snapshot-image.js';
import { GUEST_ACTION_OUTCOMES } from './guest-action-outcomes.js';
import { endPendingTask } from './pending-action.js';
import { finishTasklessAction } from './taskless-action.js';

/**
 * A host could not do what an action asked: the task ends and the instance keeps its vm_state
 * (Nova's reverts_task_state), except after a failed reboot or rebuild, which leave it in ERROR
 * with the host's reason as its fault. A failed snapshot's upload is aborted and its image deleted.
 */
export async function onActionFailed(report: z.infer<typeof ActionFailedReportSchema>): Promise<void> {
  if (TASKLESS_ACTIONS.has(report.action)) return finishTasklessAction(report);
  const ended = await endPendingTask(report, async ({ instance, action }) => {
    if (action.snapshot) await discardSnapshot(action.snapshot);
    const outcome = GUEST_ACTION_OUTCOMES[report.action];
    const changes = {
      ...(outcome.errorOnFailure
        ? {
            vm_state: VmState.ERROR,
            fault: { code: 500, message: `${report.action} of instance ${instance.id} failed on ${report.host}: ${report.reason}`, created: report.at },
          }
        : {}),
      ...outcome.afterTask?.(instance),
    };
    return { changes, failure: report.reason };
  });
  if (ended) logger.warn('instance action failed', { instance_id: report.instance_id, action: report.action, reason: report.reason });
}
