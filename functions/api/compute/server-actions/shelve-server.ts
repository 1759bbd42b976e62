import { config } from '../../../../shared/config.js';
import { imageObjectKey } from '../../../../shared/domain/image.js';
import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import { logger } from '../../../../shared/logger.js';
import { createImage as storeImage, deleteUnprotectedImage } from '../../../../shared/store/images.js';
import { TASK_DEADLINE_SECONDS } from '../../../../shared/store/instances.js';
import { abortPresignedUpload, startPresignedUpload, type PresignedUpload } from '../../../../shared/storage/presigned-multipart.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { loadInstance } from '../server-access.js';
import { snapshotImage, snapshotPartPlan } from './create-image.js';
import { checkActionAllowed, checkHasHost, startGuestTask } from './guest-task.js';
import { POWER_OFF_TIMEOUT_SECONDS } from './server-power.js';
import type { ServerAction } from './server-action.js';

/**
 * `shelve`: 202; shelving while the host powers the guest off and uploads its disk as the image
 * `<name>-shelved`, then SHELVED, and offloaded after SHELVED_OFFLOAD_TIME (at once by default).
 * The image is made here as a snapshot's is; anything failing before the command is sent removes it.
 */
async function shelve(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  checkActionAllowed(req, instance, InstanceActionName.SHELVE, 'shelve');
  checkHasHost(instance);

  const image = await snapshotImage(req, instance, `${instance.name}-shelved`, { image_type: 'snapshot' }, {});
  await storeImage(image);
  const bucket = config().IMAGE_BUCKET;
  let upload: PresignedUpload | undefined;
  try {
    upload = await startPresignedUpload(bucket, imageObjectKey(image.id), { ...snapshotPartPlan(instance), expiresInSeconds: TASK_DEADLINE_SECONDS.shelving });
    const { uploadId, partSize, partUrls } = upload;
    await startGuestTask(req, {
      action: InstanceActionName.SHELVE,
      rule: 'shelve',
      taskState: TaskState.SHELVING,
      snapshot: { image_id: image.id, upload_id: uploadId },
      command: (i, requestId) => ({
        type: 'shelve',
        request_id: requestId,
        instance_id: i.id,
        image_id: image.id,
        upload: { part_size: partSize, part_urls: partUrls },
        timeout_sec: POWER_OFF_TIMEOUT_SECONDS,
      }),
    });
  } catch (error) {
    if (upload) await abortPresignedUpload(bucket, imageObjectKey(image.id), upload.uploadId).catch((e) => logger.warn('could not abort shelve upload', { error: e as Error }));
    await deleteUnprotectedImage(image.id);
    throw error;
  }
  return { status: 202 };
}

/** `shelveOffload`: 202; the host destroys the shelved guest and its claim is released (SHELVED_OFFLOADED). */
async function shelveOffload(req: ApiRequest): Promise<ApiResponse> {
  await startGuestTask(req, {
    action: InstanceActionName.SHELVE_OFFLOAD,
    rule: 'shelveOffload',
    taskState: TaskState.SHELVING_OFFLOADING,
    command: (i, requestId) => ({ type: 'destroy', request_id: requestId, instance_id: i.id }),
  });
  return { status: 202 };
}

export const shelveServerActions: ServerAction[] = [
  { name: 'shelve', handle: shelve },
  { name: 'shelveOffload', handle: shelveOffload },
];
