import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { objects } from '../aws.js';
import { config } from '../config.js';
import { imageObjectKey } from '../domain/image.js';
import { logger } from '../logger.js';
import { deleteUnprotectedImage } from '../store/images.js';

/**
 * A shelved server's image has served its purpose once the server runs again or is deleted
 * (Nova's _delete_snapshot_of_shelved_instance, and compute/api.py _delete): it goes with its
 * bytes. One marked protected meanwhile is kept.
 */
export async function deleteShelvedImage(imageId: string): Promise<void> {
  if (!(await deleteUnprotectedImage(imageId))) return;
  try {
    await objects().send(new DeleteObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: imageObjectKey(imageId) }));
  } catch (error) {
    logger.error('shelved image data left behind', { image_id: imageId, error: error as Error });
  }
}
