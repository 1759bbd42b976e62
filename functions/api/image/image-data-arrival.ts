import { pipeline } from 'node:stream/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NotFound as S3NotFound } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { objects } from '../../../shared/aws.js';
import { config } from '../../../shared/config.js';
import { imageObjectKey, type Image } from '../../../shared/domain/image.js';
import { BadRequest } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { imageObjectPrefix } from '../../../shared/resources.js';
import { completeUpload, getImage, releaseUpload } from '../../../shared/store/images.js';
import { HASHED_BY_API_METADATA, ImageDataMeter } from './image-upload.js';

/** How often the hashing of a large image logs its progress. */
const PROGRESS_EVERY_BYTES = 256 * 1024 * 1024;

/**
 * S3 ObjectCreated:Put on the image bucket: the bytes of an image uploaded straight to S3 (through
 * the redirect of PUT /v2/images/{id}/file) have arrived. Reads them once to compute what
 * Glance computes while it receives data (size, md5, sha512, the disk header check) and moves
 * the image saving → active. A refused disk header deletes the data and puts the image back
 * to queued. At least once and idempotent: an image that is not `saving` is left alone.
 */
export async function handleImageDataArrival(event: S3Event): Promise<void> {
  for (const record of event.Records) {
    // Only single PUTs: the redirect hands out one. Snapshots arrive by multipart uploads that the conductor completes itself.
    if (record.eventName !== 'ObjectCreated:Put' || record.s3.bucket.name !== config().IMAGE_BUCKET) continue;
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    if (!key.startsWith(imageObjectPrefix)) continue;
    await verifyArrivedData(key.slice(imageObjectPrefix.length));
  }
}

export async function verifyArrivedData(imageId: string): Promise<void> {
  const bucket = config().IMAGE_BUCKET;
  const key = imageObjectKey(imageId);
  const head = await headObject(bucket, key);
  if (!head || head.Metadata?.['hashed-by'] === HASHED_BY_API_METADATA['hashed-by']) return;

  const image = await getImage(imageId, true);
  if (!image || image.status !== 'saving') {
    logger.info('image data arrived for an image that is not saving; left alone', { image_id: imageId, status: image?.status });
    return;
  }

  const total = head.ContentLength ?? 0;
  logger.info('hashing uploaded image data', { image_id: imageId, bytes: total });
  const meter = new ImageDataMeter(image.disk_format);
  try {
    const out = await objects().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(out.Body as Readable, progressLogger(imageId, total), meter, discard());
  } catch (err) {
    if (!(err instanceof BadRequest)) throw err;
    logger.warn('uploaded image data refused', { image_id: imageId, reason: err.message });
    await deleteObject(bucket, key, imageId);
    await releaseUpload(image, new Date().toISOString());
    return;
  }
  await activate(image, meter, bucket, key);
}

async function activate(image: Image, meter: ImageDataMeter, bucket: string, key: string): Promise<void> {
  const data = meter.result();
  const active = await completeUpload(image, data, new Date().toISOString());
  if (active) {
    logger.info('image active', { image_id: image.id, size: data.size, checksum: data.checksum });
    return;
  }
  const now = await getImage(image.id, true);
  if (!now) await deleteObject(bucket, key, image.id);
  else logger.info('image changed while its data was hashed; left as it is', { image_id: image.id, status: now.status });
}

async function headObject(bucket: string, key: string) {
  try {
    return await objects().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (err instanceof S3NotFound || (err as { name?: string }).name === 'NotFound') return undefined;
    throw err;
  }
}

async function deleteObject(bucket: string, key: string, imageId: string): Promise<void> {
  try {
    await objects().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    logger.error('could not delete refused image data', { image_id: imageId, error: error as Error });
  }
}

/** Passes bytes through, logging "hashed 35% of 2.0 GiB" every PROGRESS_EVERY_BYTES. */
function progressLogger(imageId: string, total: number): Transform {
  let seen = 0;
  let next = PROGRESS_EVERY_BYTES;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen >= next) {
        next += PROGRESS_EVERY_BYTES;
        const percent = total ? Math.floor((seen * 100) / total) : 0;
        logger.info(`hashed ${percent}% of ${gib(total)} of image ${imageId}`, { image_id: imageId, bytes_hashed: seen, bytes: total });
      }
      done(null, chunk);
    },
  });
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

const discard = () => new Writable({ write: (_chunk, _enc, done) => done() });
