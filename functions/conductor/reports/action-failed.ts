import type { z } from 'zod';
import { VmState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { ActionFailedReportSchema } from '../../../shared/messages/conductor.js';
import { eventFinish } from '../../../shared/store/instance-actions.js';
import { transact, versionedUpdate, type InstanceChanges } from '../../../shared/store/instances.js';
import { discardSnapshot } from '../snapshot-image.js';
import { GUEST_ACTION_OUTCOMES } from './guest-action-outcomes.js';
import { pendingAction } from './pending-action.js';
import { settleSnapshotWithoutInstance } from './snapshot-without-instance.js';

type ActionFailedReport = z.infer<typeof ActionFailedReportSchema>;

/**
 * A host could not do what an action asked: the task ends and the instance keeps its vm_state
 * (Nova's reverts_task_state), except after a failed reboot or rebuild, which leave it in ERROR
 * with the host's reason as its fault. A failed snapshot's upload is aborted and its image deleted.
 */
export async function onActionFailed(report: ActionFailedReport): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const pending = await pendingAction(report);
    if (!pending) {
      if (report.action === 'createImage') await settleSnapshotWithoutInstance(report);
      return;
    }
    const { instance, action, event } = pending;
    if (action.snapshot) await discardSnapshot(action.snapshot);
    const toError = GUEST_ACTION_OUTCOMES[report.action].errorOnFailure;
    const changes: InstanceChanges = {
      task_state: null,
      task_deadline: null,
      power_state: report.power_state,
      ...(toError
        ? {
            vm_state: VmState.ERROR,
            fault: { code: 500, message: `${report.action} of instance ${instance.id} failed on ${report.host}: ${report.reason}`, created: report.at },
          }
        : {}),
    };
    const finish = eventFinish(instance.id, action.request_id, {
      event,
      start_time: report.started_at,
      finish_time: report.at,
      result: 'Error',
      traceback: report.reason,
    });
    if (await transact([versionedUpdate(instance, changes), finish])) {
      logger.warn('instance action failed', { instance_id: instance.id, action: report.action, reason: report.reason });
      return;
    }
  }
  throw new Error(`could not apply the failed ${report.action} of ${report.instance_id}: the instance kept changing`);
}
