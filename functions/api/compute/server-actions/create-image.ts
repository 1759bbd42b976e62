import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { config } from '../../../../shared/config.js';
import { imageObjectKey, type Image } from '../../../../shared/domain/image.js';
import type { Instance } from '../../../../shared/domain/instance.js';
import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import { logger } from '../../../../shared/logger.js';
import type { HostCommand } from '../../../../shared/messages/host.js';
import { TASK_DEADLINE_SECONDS } from '../../../../shared/store/instances.js';
import { abortPresignedUpload, MIN_PART_SIZE, startPresignedUpload, type PresignedUpload } from '../../../../shared/storage/presigned-multipart.js';
import { createImage as storeImage, deleteUnprotectedImage, getImage } from '../../../../shared/store/images.js';
import { json, validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { ServerName } from '../server-create.js';
import { loadInstance } from '../server-access.js';
import { checkActionAllowed, checkHasHost, startGuestTask } from './guest-task.js';
import type { ServerAction } from './server-action.js';

const CreateImageSchema = z.strictObject({
  name: ServerName,
  metadata: z.record(z.string().min(1).max(255), z.string().max(255)).optional(),
});

/** Presigned part URLs ride in the snapshot command: few enough to keep it far below SQS's 256 KiB. */
const MAX_SNAPSHOT_PARTS = 100;
const GiB = 1024 ** 3;
/** Room for the qcow2 metadata around the data. */
const QCOW2_OVERHEAD_BYTES = 64 * 1024 * 1024;

/** How the snapshot's upload is cut: enough parts for the largest image the root disk can give. */
export function snapshotPartPlan(i: Pick<Instance, 'flavor' | 'image_meta'>): { partSize: number; partCount: number } {
  const diskBytes = Math.max(i.flavor.disk * GiB, i.image_meta.virtual_size ?? 0, i.image_meta.size ?? 0);
  const maxBytes = Math.ceil(diskBytes * 1.01) + QCOW2_OVERHEAD_BYTES;
  const partSize = Math.max(MIN_PART_SIZE, Math.ceil(maxBytes / MAX_SNAPSHOT_PARTS));
  return { partSize, partCount: Math.ceil(maxBytes / partSize) };
}

/**
 * The snapshot's image record, queued until the conductor completes the upload (Nova's
 * create_image properties; `kind` sets image_type, a backup's backup_type with it).
 */
async function snapshotImage(req: ApiRequest, instance: Instance, name: string, kind: Record<string, string>, metadata: Record<string, string>): Promise<Image> {
  const base = await getImage(instance.image_ref);
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    name,
    owner: req.auth.project_id,
    status: 'queued',
    visibility: 'private',
    protected: false,
    os_hidden: false,
    disk_format: base?.disk_format ?? null,
    container_format: 'bare',
    min_disk: Math.max(instance.flavor.disk, base?.min_disk ?? 0),
    min_ram: base?.min_ram ?? 0,
    size: null,
    virtual_size: null,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    tags: [],
    // The user's metadata wins over these, as in Nova's create_image.
    properties: { ...kind, instance_uuid: instance.id, base_image_ref: instance.image_ref, user_id: req.auth.user_id, ...metadata },
    created_at: now,
    updated_at: now,
    version: 1,
  };
}

/** What a snapshot is for: a plain image (createImage), a backup kept by rotation (createBackup), or a shelve. */
export interface SnapshotKind {
  action: typeof InstanceActionName.CREATE_IMAGE | typeof InstanceActionName.CREATE_BACKUP | typeof InstanceActionName.SHELVE;
  taskState: TaskState;
  properties: Record<string, string>;
  backup?: { type: string; rotation: number };
  /** Whether a lock refuses it: Nova does not check the lock for snapshots (a snapshot changes nothing), it does for shelve. */
  lockApplies?: boolean;
  /** The host command that takes it, from the snapshot's target: a plain `snapshot` unless given (shelve powers the guest off first). */
  command?(target: SnapshotTarget): HostCommand;
}

/** The image a host command snapshots into and where it uploads the parts. */
export interface SnapshotTarget {
  request_id: string;
  instance_id: string;
  image_id: string;
  upload: { part_size: number; part_urls: string[] };
}

/**
 * Starts a snapshot of the server into a new image. The image is created queued and its
 * multipart upload started here; the host uploads the parts to presigned URLs and the conductor
 * completes the upload and activates the image. Anything that fails before the command is sent
 * removes the image and aborts the upload again. `name` may be made from the server (a shelve's).
 * Returns the new image's id.
 */
export async function snapshotServer(req: ApiRequest, name: string | ((i: Instance) => string), metadata: Record<string, string>, kind: SnapshotKind): Promise<string> {
  const instance = await loadInstance(req);
  const lockApplies = kind.lockApplies ?? false;
  checkActionAllowed(req, instance, kind.action, kind.action, lockApplies);
  checkHasHost(instance);

  const image = await snapshotImage(req, instance, typeof name === 'string' ? name : name(instance), kind.properties, metadata);
  await storeImage(image);
  const bucket = config().IMAGE_BUCKET;
  let upload: PresignedUpload | undefined;
  try {
    const plan = snapshotPartPlan(instance);
    // The part URLs last as long as the task may.
    upload = await startPresignedUpload(bucket, imageObjectKey(image.id), { ...plan, expiresInSeconds: TASK_DEADLINE_SECONDS[kind.taskState] });
    const { uploadId, partSize, partUrls } = upload;
    await startGuestTask(req, {
      action: kind.action,
      rule: kind.action,
      taskState: kind.taskState,
      lockApplies,
      snapshot: { image_id: image.id, upload_id: uploadId, ...(kind.backup ? { backup: kind.backup } : {}) },
      command: (i, requestId) => {
        const target = { request_id: requestId, instance_id: i.id, image_id: image.id, upload: { part_size: partSize, part_urls: partUrls } };
        return kind.command?.(target) ?? { type: 'snapshot', ...target, action: kind.action as typeof InstanceActionName.CREATE_IMAGE | typeof InstanceActionName.CREATE_BACKUP };
      },
    });
  } catch (error) {
    if (upload) await abortPresignedUpload(bucket, imageObjectKey(image.id), upload.uploadId).catch((e) => logger.warn('could not abort snapshot upload', { error: e as Error }));
    await deleteUnprotectedImage(image.id);
    throw error;
  }
  return image.id;
}

/** `createImage`: 202 with the new image's URL in `Location` (below 2.45) or its id (`image_id`). */
async function createImage(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  const { name, metadata = {} } = validate(CreateImageSchema, body);
  const imageId = await snapshotServer(req, name, metadata, {
    action: InstanceActionName.CREATE_IMAGE,
    taskState: TaskState.IMAGE_SNAPSHOT,
    properties: { image_type: 'snapshot' },
  });
  // 2.45: the image id in the body, and no Location.
  if (req.microversion.atLeast('2.45')) return json(202, { image_id: imageId });
  return { status: 202, headers: { Location: `${req.baseUrl}/image/v2/images/${imageId}` } };
}

export const createImageActions: ServerAction[] = [{ name: 'createImage', handle: createImage }];
