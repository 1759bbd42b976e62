import type { z } from 'zod';
import { logger } from '../../../shared/logger.js';
import type { ActionDoneReportSchema } from '../../../shared/messages/conductor.js';
import { eventFinish } from '../../../shared/store/instance-actions.js';
import { transact, versionedUpdate, type InstanceChanges } from '../../../shared/store/instances.js';
import { activateSnapshot, discardSnapshot } from '../snapshot-image.js';
import { GUEST_ACTION_OUTCOMES } from './guest-action-outcomes.js';
import { pendingAction } from './pending-action.js';
import { settleSnapshotWithoutInstance } from './snapshot-without-instance.js';

type ActionDoneReport = z.infer<typeof ActionDoneReportSchema>;

/**
 * A host did what an action asked: the instance leaves the task state for the action's resulting
 * state, and the action's event finishes, in one conditional transaction. A snapshot's image is
 * activated first, so a crash in between leaves the report to be applied again.
 */
export async function onActionDone(report: ActionDoneReport): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const pending = await pendingAction(report);
    if (!pending) {
      if (report.action === 'createImage') await settleSnapshotWithoutInstance(report);
      return;
    }
    const { instance, action, event } = pending;
    let failure: string | null = null;
    if (report.action === 'createImage') {
      if (!action.snapshot || !report.snapshot) {
        failure = 'the host reported no snapshot data';
        if (action.snapshot) await discardSnapshot(action.snapshot);
      } else if (!(await activateSnapshot(action.snapshot, report.snapshot))) {
        failure = `image ${action.snapshot.image_id} could not be activated (deleted during the upload, or its parts were refused)`;
      }
    }
    const outcome = GUEST_ACTION_OUTCOMES[report.action];
    const changes: InstanceChanges = {
      task_state: null,
      task_deadline: null,
      power_state: report.power_state,
      ...(outcome.done ? { vm_state: outcome.done(instance, report.power_state) } : {}),
    };
    const finish = eventFinish(instance.id, action.request_id, {
      event,
      start_time: report.started_at,
      finish_time: report.at,
      result: failure ? 'Error' : 'Success',
      traceback: failure,
    });
    if (await transact([versionedUpdate(instance, changes), finish])) {
      logger.info('instance action done', { instance_id: instance.id, action: report.action, vm_state: changes.vm_state ?? instance.vm_state });
      return;
    }
  }
  // Another writer kept changing the instance: let the queue deliver the report again.
  throw new Error(`could not apply ${report.action} of ${report.instance_id}: the instance kept changing`);
}
