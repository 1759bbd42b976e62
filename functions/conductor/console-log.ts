import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { objects } from '../../shared/aws.js';
import { config } from '../../shared/config.js';
import { logger } from '../../shared/logger.js';
import { consoleObjectKey } from '../../shared/resources.js';

/** The console log a host published for a guest that is gone now. */
export async function deleteConsoleLog(instanceId: string): Promise<void> {
  try {
    await objects().send(new DeleteObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: consoleObjectKey(instanceId) }));
  } catch (error) {
    logger.warn('console log of a deleted instance left behind', { instance_id: instanceId, error: error as Error });
  }
}
