import type { z } from 'zod';
import { SNAPSHOT_ACTIONS, TASKLESS_ACTIONS } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { ActionDoneReportSchema } from '../../../shared/messages/conductor.js';
import { completeSnapshot, discardSnapshot } from '../../../shared/storage/snapshot-image.js';
import { GUEST_ACTION_OUTCOMES } from './guest-action-outcomes.js';
import { endPendingTask } from './pending-action.js';
import { onShelveDone, onUnshelvePoweredOn } from './shelve-done.js';
import { finishTasklessAction } from './taskless-action.js';

/**
 * A host did what an action asked: the instance leaves the task state for the action's resulting
 * state, and the action's event finishes, in one conditional transaction. A snapshot's image is
 * activated first, so a crash in between leaves the report to be applied again.
 */
export async function onActionDone(report: z.infer<typeof ActionDoneReportSchema>): Promise<void> {
  if (TASKLESS_ACTIONS.has(report.action)) return finishTasklessAction(report);
  if (report.action === 'shelve') return onShelveDone(report);
  if (report.action === 'unshelve') return onUnshelvePoweredOn(report);
  const ended = await endPendingTask(report, async ({ instance, action }) => {
    let failure: string | null = null;
    if (SNAPSHOT_ACTIONS.has(report.action)) {
      if (!action.snapshot || !report.snapshot) {
        failure = 'the host reported no snapshot data';
        if (action.snapshot) await discardSnapshot(action.snapshot);
      } else if (!(await completeSnapshot(action.snapshot, report.snapshot, instance.id))) {
        failure = `image ${action.snapshot.image_id} could not be activated (deleted during the upload, or its parts were refused)`;
      }
    }
    const outcome = GUEST_ACTION_OUTCOMES[report.action];
    return { changes: { ...(outcome.done ? { vm_state: outcome.done(instance, report.power_state) } : {}), ...outcome.afterTask?.(instance) }, failure };
  });
  if (!ended) return;
  const { instance, changes } = ended;
  logger.info('instance action done', { instance_id: instance.id, action: report.action, vm_state: changes.vm_state ?? instance.vm_state });
}
