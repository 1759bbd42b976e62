import { ACTION_EVENTS, SNAPSHOT_ACTIONS } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { ActionDoneReportSchema, ActionFailedReportSchema } from '../../../shared/messages/conductor.js';
import { finishEvent, getAction } from '../../../shared/store/instance-actions.js';
import { getInstance } from '../../../shared/store/instances.js';
import type { z } from 'zod';
import { completeSnapshot, discardSnapshot } from '../../../shared/storage/snapshot-image.js';

type SnapshotReport = z.infer<typeof ActionDoneReportSchema> | z.infer<typeof ActionFailedReportSchema>;

/**
 * A snapshot report whose instance no longer waits for it (deleted, or timed out by the
 * sweeper): the image the user asked for is still finished (or discarded), once.
 */
export async function settleSnapshotWithoutInstance(report: SnapshotReport): Promise<void> {
  const instance = await getInstance(report.instance_id);
  if (instance && instance.host !== report.host) return;
  const action = await getAction(report.instance_id, report.request_id);
  if (!action?.snapshot || !SNAPSHOT_ACTIONS.has(action.action)) return;
  const event = ACTION_EVENTS[action.action]!;
  if (action.events[event]?.done !== false) return;
  let failure: string | null = report.type === 'action_failed' ? report.reason : null;
  if (report.type === 'action_done' && report.snapshot) {
    if (!(await completeSnapshot(action.snapshot, report.snapshot, report.instance_id))) failure = `image ${action.snapshot.image_id} could not be activated`;
  } else {
    failure ??= 'the host reported no snapshot data';
    await discardSnapshot(action.snapshot);
  }
  await finishEvent(report.instance_id, report.request_id, {
    event,
    start_time: report.started_at,
    finish_time: report.at,
    result: failure ? 'Error' : 'Success',
    traceback: failure,
  });
  logger.info('settled a snapshot whose instance no longer waits for it', { image_id: action.snapshot.image_id, failure });
}
