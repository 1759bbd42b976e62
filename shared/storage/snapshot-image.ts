import { DeleteObjectCommand, HeadObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { objects } from '../aws.js';
import { config } from '../config.js';
import { imageObjectKey, type Image } from '../domain/image.js';
import { logger } from '../logger.js';
import type { SnapshotUpload } from '../messages/conductor.js';
import type { InstanceAction } from '../store/instance-actions.js';
import { deleteUnprotectedImage, getImage, listImages, replaceImage } from '../store/images.js';
import { abortPresignedUpload, completePresignedUpload } from './presigned-multipart.js';

type SnapshotTarget = NonNullable<InstanceAction['snapshot']>;

/**
 * Completes a snapshot's multipart upload and makes its image active with the size and hashes
 * the host computed. Safe to run twice (a repeated report): an upload already completed is
 * recognised by its object, an image already active is left as it is. Returns undefined when
 * the image can not be activated (deleted meanwhile, or parts S3 refuses); its data is removed.
 */
export async function activateSnapshot(target: SnapshotTarget, data: SnapshotUpload): Promise<Image | undefined> {
  const bucket = config().IMAGE_BUCKET;
  const key = imageObjectKey(target.image_id);
  const image = await getImage(target.image_id, true);
  if (image?.status === 'active') return image;
  if (!image || !['queued', 'saving'].includes(image.status)) {
    await discardSnapshot(target);
    return undefined;
  }
  try {
    await completePresignedUpload(bucket, key, target.upload_id, data.parts.map((p) => ({ PartNumber: p.part_number, ETag: p.etag })));
  } catch (error) {
    // A repeated report finds the upload completed already; a refusal (bad parts) is final.
    if (!(await objectExists(bucket, key))) {
      if (!(error instanceof S3ServiceException) || error.$fault !== 'client') throw error;
      logger.error('S3 refused to complete the snapshot upload', { image_id: target.image_id, error: error as Error });
      await discardSnapshot(target);
      return undefined;
    }
  }
  const now = new Date().toISOString();
  const active: Image = {
    ...image,
    status: 'active',
    disk_format: data.disk_format,
    container_format: 'bare',
    size: data.size,
    virtual_size: data.virtual_size,
    checksum: data.checksum,
    os_hash_algo: 'sha512',
    os_hash_value: data.os_hash_value,
    updated_at: now,
    version: image.version + 1,
  };
  if (await replaceImage(active)) return active;
  const current = await getImage(target.image_id, true);
  if (current?.status === 'active') return current;
  logger.warn('snapshot image changed or deleted during its upload; removing its data', { image_id: target.image_id });
  await deleteObject(bucket, key);
  return undefined;
}

/**
 * activateSnapshot, then for a backup Nova's _rotate_backups: of the instance's active backups of
 * that type, the newest `rotation` stay and the older ones are deleted (all of them for 0).
 */
export async function completeSnapshot(target: SnapshotTarget, data: SnapshotUpload, instanceId: string): Promise<Image | undefined> {
  const image = await activateSnapshot(target, data);
  if (image && target.backup) await rotateBackups(instanceId, target.backup);
  return image;
}

async function rotateBackups(instanceId: string, backup: NonNullable<SnapshotTarget['backup']>): Promise<void> {
  const backups = (await listImages())
    .filter((i) => i.status === 'active' && i.properties.instance_uuid === instanceId && i.properties.image_type === 'backup' && i.properties.backup_type === backup.type)
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
  for (const old of backups.slice(backup.rotation)) {
    if (!(await deleteUnprotectedImage(old.id))) continue;
    await deleteObject(config().IMAGE_BUCKET, imageObjectKey(old.id));
    logger.info('rotated out an old backup', { instance_id: instanceId, image_id: old.id, backup_type: backup.type, rotation: backup.rotation });
  }
}

/** A snapshot that failed: its upload is aborted and its image (never active) deleted, as Nova deletes it. */
export async function discardSnapshot(target: SnapshotTarget): Promise<void> {
  const bucket = config().IMAGE_BUCKET;
  try {
    await abortPresignedUpload(bucket, imageObjectKey(target.image_id), target.upload_id);
  } catch (error) {
    // Already aborted or completed: nothing left to abort.
    logger.info('snapshot upload not aborted', { image_id: target.image_id, error: (error as Error).message });
  }
  const image = await getImage(target.image_id, true);
  if (image && image.status !== 'active') await deleteUnprotectedImage(image.id);
}

async function objectExists(bucket: string, key: string): Promise<boolean> {
  try {
    await objects().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return false;
    throw error;
  }
}

async function deleteObject(bucket: string, key: string): Promise<void> {
  try {
    await objects().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    logger.error('snapshot data left behind', { key, error: error as Error });
  }
}
