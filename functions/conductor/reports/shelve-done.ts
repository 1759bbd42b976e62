import type { z } from 'zod';
import { config } from '../../../shared/config.js';
import { imageMetaOf, type Instance } from '../../../shared/domain/instance.js';
import { InstanceActionName, TaskState, VmState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { ActionDoneReportSchema } from '../../../shared/messages/conductor.js';
import { sendDestroy } from '../../../shared/messages/host-commands.js';
import { getAction } from '../../../shared/store/instance-actions.js';
import { deadlineFor, getInstance, type InstanceChanges } from '../../../shared/store/instances.js';
import { deleteShelvedImage } from '../../../shared/storage/shelved-image.js';
import { completeSnapshot, discardSnapshot } from '../../../shared/storage/snapshot-image.js';
import { endPendingTask } from './pending-action.js';

type ActionDone = z.infer<typeof ActionDoneReportSchema>;

/** When a server shelved now is offloaded (Nova's shelved_offload_time): at once, at a time the sweeper watches, or never. */
export function offloadPlan(now = Date.now()): InstanceChanges {
  const after = config().SHELVED_OFFLOAD_TIME;
  if (after === 0) return { task_state: TaskState.SHELVING_OFFLOADING, task_deadline: deadlineFor(TaskState.SHELVING_OFFLOADING, now) };
  if (after > 0) return { task_state: null, task_deadline: new Date(now + after * 1000).toISOString() };
  return { task_state: null, task_deadline: null };
}

/**
 * The host powered the guest off and uploaded its disk: the shelved image is activated, then the
 * instance is SHELVED with the image recorded (Nova's shelved_* system metadata) and, with
 * shelved_offload_time 0, goes straight on to its offload: the host is told to destroy the guest,
 * which now lives in the image. An image that cannot be activated leaves the server as it was.
 */
export async function onShelveDone(report: ActionDone): Promise<void> {
  let shelvedImage: string | undefined;
  const ended = await endPendingTask(report, async ({ action }) => {
    const image = action.snapshot && report.snapshot ? await completeSnapshot(action.snapshot, report.snapshot, report.instance_id) : undefined;
    if (!image) {
      if (action.snapshot) await discardSnapshot(action.snapshot);
      return { changes: {}, failure: `the shelved image could not be activated (the host reported ${report.snapshot ? 'parts S3 refused' : 'no snapshot'}, or it was deleted)` };
    }
    shelvedImage = image.id;
    const shelved = { image_id: image.id, image_meta: imageMetaOf(image), at: report.at, host: report.host, unshelving_since: null };
    return { changes: { vm_state: VmState.SHELVED, shelved, ...offloadPlan() }, failure: null };
  });
  if (!ended) return discardIfOrphan(report);
  const { instance, changes } = ended;
  logger.info('instance shelved', { instance_id: instance.id, image_id: shelvedImage, offloading: changes.task_state === TaskState.SHELVING_OFFLOADING });
  if (changes.task_state === TaskState.SHELVING_OFFLOADING) await sendDestroy(report.host, instance.id, report.request_id);
}

/**
 * A repeated shelve report, or one the instance no longer waits for (deleted, timed out): its image
 * is dropped unless it is the one the server is shelved to.
 */
async function discardIfOrphan(report: ActionDone): Promise<void> {
  const action = await getAction(report.instance_id, report.request_id);
  if (action?.action !== InstanceActionName.SHELVE || !action.snapshot) return;
  const instance = await getInstance(report.instance_id);
  if (instance?.shelved?.image_id === action.snapshot.image_id) return;
  await discardSnapshot(action.snapshot);
}

/**
 * An unshelve of a server that kept its host: the guest runs again, ACTIVE, and the shelved
 * image is deleted (Nova's start_instance of a SHELVED server).
 */
export async function onUnshelvePoweredOn(report: ActionDone): Promise<void> {
  let shelved: Instance['shelved'];
  const ended = await endPendingTask(report, async ({ instance }) => {
    shelved = instance.shelved;
    return { changes: { vm_state: VmState.ACTIVE, shelved: null }, failure: null };
  });
  if (!ended) return;
  logger.info('instance unshelved on its host', { instance_id: report.instance_id, host: report.host });
  if (shelved) await deleteShelvedImage(shelved.image_id);
}
