import { Transform, type Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { z } from 'zod';
import { objects } from '../../../shared/aws.js';
import { config } from '../../../shared/config.js';
import { imageObjectKey, type Image } from '../../../shared/domain/image.js';
import { ApiError, BadRequest } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { imageUploadPrefix } from '../../../shared/resources.js';
import { claimUpload, completeUpload, getImage, releaseUpload, type UploadedData } from '../../../shared/store/images.js';
import { isRevoked } from '../identity/revocations.js';
import { notFound } from './image-policy.js';
import { assertCanReceiveData, deleteImageObject, storeImageData } from './image-upload.js';

/** How often the receiving of a large image logs its progress. */
const PROGRESS_EVERY_BYTES = 256 * 1024 * 1024;

const Segment = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/**
 * `image-uploads/<image>/<project>/<admin|member>/<user>/<token id>/<token issued, epoch ms>/<request id>`,
 * as the front's function names it (infra/edge/image-upload-router.js) after checking the token's signature.
 */
const UploadKeySchema = z
  .string()
  .transform((key) => key.slice(imageUploadPrefix.length).split('/'))
  .pipe(z.tuple([z.uuid(), Segment, z.enum(['admin', 'member']), Segment, Segment, z.string().regex(/^\d{1,15}$/), Segment]))
  .transform(([imageId, projectId, role, userId, tokenId, issuedMs, uploadId]) => ({
    imageId,
    uploadId,
    caller: { project_id: projectId, roles: [{ id: role, name: role }] },
    token: { id: tokenId, user_id: userId, project_id: projectId, issued_at: new Date(Number(issuedMs)).toISOString() },
  }));
type StagedUpload = z.infer<typeof UploadKeySchema> & { key: string };

/**
 * S3 ObjectCreated:Put under `image-uploads/`: image data that came through the public front,
 * whose function checked the token only (docs/images.md). Does what Glance does when it receives
 * data: the uploader may change the image, the image is `queued` with its formats set
 * (queued → saving), the bytes are counted, hashed (md5, sha512) and their disk header checked
 * while they are copied to `images/<id>`, then saving → active. Refused data is deleted and the
 * image left as it was. At least once and idempotent: a staged object that is gone was handled,
 * a failure puts the image back to queued for the retry, and a retry after a crash finds its
 * own claim again (by the upload's id).
 */
export async function handleImageDataArrival(event: S3Event): Promise<void> {
  for (const record of event.Records) {
    if (record.eventName !== 'ObjectCreated:Put' || record.s3.bucket.name !== config().IMAGE_BUCKET) continue;
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    if (!key.startsWith(imageUploadPrefix)) continue;
    const parsed = UploadKeySchema.safeParse(key);
    if (!parsed.success) {
      logger.warn('image upload under a key the front does not make; deleted', { key });
      await deleteImageObject(key);
      continue;
    }
    await receiveUpload({ ...parsed.data, key }, record.s3.object.size);
  }
}

async function receiveUpload(upload: StagedUpload, bytes: number): Promise<void> {
  if (!(await stagedObjectExists(upload.key))) {
    logger.info('image upload already handled', { image_id: upload.imageId, upload_id: upload.uploadId });
    return;
  }
  const image = await getImage(upload.imageId, true);
  // The front checked the signature and expiry only: it has no revocation list.
  const refusal = (await isRevoked(upload.token)) ? 'The token was revoked.' : refusalOf(image, upload);
  if (refusal) return refuse(upload, refusal);

  const claimed = await claimUpload(image!, new Date(), upload.uploadId);
  if (!claimed) return refuse(upload, `Image status transition from ${image!.status} to saving is not allowed`);

  logger.info('receiving uploaded image data', { image_id: claimed.id, bytes, upload_id: upload.uploadId });
  let data;
  try {
    const staged = await objects().send(new GetObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: upload.key }));
    data = await storeImageData(claimed.id, claimed.disk_format, (staged.Body as Readable).pipe(progressLogger(claimed.id, bytes)));
  } catch (err) {
    // Back to queued whatever went wrong: a retry of this event (the staged data is still there) claims it again.
    await releaseUpload(claimed, new Date().toISOString());
    if (!(err instanceof BadRequest)) throw err;
    return refuse(upload, err.message);
  }
  await activate(claimed, data);
  await deleteImageObject(upload.key);
}

/** Why Glance would have refused this upload (404, 403, 400), or undefined. */
function refusalOf(image: Image | undefined, upload: StagedUpload): string | undefined {
  if (!image) return notFound(upload.imageId).message;
  try {
    assertCanReceiveData(image, upload.caller);
    return undefined;
  } catch (err) {
    if (err instanceof ApiError) return err.message;
    throw err;
  }
}

async function refuse(upload: StagedUpload, reason: string): Promise<void> {
  logger.warn('uploaded image data refused; deleted', { image_id: upload.imageId, upload_id: upload.uploadId, reason });
  await deleteImageObject(upload.key);
}

async function activate(claimed: Image, data: UploadedData): Promise<void> {
  const active = await completeUpload(claimed, data, new Date().toISOString());
  if (active) {
    logger.info('image active', { image_id: claimed.id, size: data.size, checksum: data.checksum });
    return;
  }
  const now = await getImage(claimed.id, true);
  if (!now) await deleteImageObject(imageObjectKey(claimed.id));
  else logger.info('image changed while its data was received; left as it is', { image_id: claimed.id, status: now.status });
}

async function stagedObjectExists(key: string): Promise<boolean> {
  try {
    await objects().send(new HeadObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: key }));
    return true;
  } catch (err) {
    if (err instanceof NotFound || err instanceof NoSuchKey) return false;
    throw err;
  }
}

/** Passes bytes through, logging "received 35% of 2.0 GiB" every PROGRESS_EVERY_BYTES. */
function progressLogger(imageId: string, total: number): Transform {
  let seen = 0;
  let next = PROGRESS_EVERY_BYTES;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen >= next) {
        next += PROGRESS_EVERY_BYTES;
        const percent = total ? Math.floor((seen * 100) / total) : 0;
        logger.info(`received ${percent}% of ${gib(total)} of image ${imageId}`, { image_id: imageId, bytes_received: seen, bytes: total });
      }
      done(null, chunk);
    },
  });
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
