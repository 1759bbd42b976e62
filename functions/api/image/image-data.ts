import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import { objects } from '../../../shared/aws.js';
import { config } from '../../../shared/config.js';
import { imageObjectKey } from '../../../shared/domain/image.js';
import { ApiError, BadRequest, Conflict, NotFound, RequestTooLarge, UnsupportedMediaType } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { functionSettings } from '../../../shared/resources.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { assertCanModify } from './image-policy.js';
import { claimUpload, completeUpload, releaseUpload } from './image-store.js';
import { storeImageData } from './image-upload.js';
import { loadVisibleImage } from './images.js';

const FILE = '/image/v2/images/{image_id}/file';

/**
 * The largest image PUT through the API. A Lambda invocation carries at most 6 MB, and API
 * Gateway hands binary bodies over base64-encoded (4 bytes per 3), with headers beside them.
 * Larger images need another way in (a presigned S3 upload): a later issue.
 */
export const MAX_UPLOAD_BYTES = Math.floor(((6 * 1024 * 1024 - 64 * 1024) * 3) / 4);

/** An upload whose function died leaves the image in `saving`; past twice the API's timeout it may be retried. */
const STALE_SAVING_MS = 2 * functionSettings.api.timeoutSeconds * 1000;

const octetStream = (req: ApiRequest) =>
  (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === 'application/octet-stream';

/** PUT /v2/images/{id}/file: queued → saving → active, 204. A failure puts the image back to queued. */
async function upload(req: ApiRequest): Promise<ApiResponse> {
  if (!octetStream(req)) throw new UnsupportedMediaType('Image data must be sent as application/octet-stream.');
  if (req.body.length > MAX_UPLOAD_BYTES) {
    throw new RequestTooLarge(`Image data of ${req.body.length} bytes exceeds the ${MAX_UPLOAD_BYTES} bytes this API accepts in one request.`);
  }
  const image = await loadVisibleImage(req);
  assertCanModify(image, req.auth, 'upload data to');
  if (!image.disk_format || !image.container_format) {
    throw new BadRequest('Properties disk_format, container_format must be set prior to saving data.');
  }

  const now = Date.now();
  const claimed = await claimUpload(image, new Date(now).toISOString(), new Date(now - STALE_SAVING_MS).toISOString());
  if (!claimed) throw new Conflict(`Image status transition from ${image.status} to saving is not allowed`);

  let data;
  try {
    data = await storeImageData(claimed.id, claimed.disk_format, Readable.from([req.body]));
  } catch (err) {
    await releaseUpload(claimed, new Date().toISOString());
    throw err;
  }
  const active = await completeUpload(claimed, data, new Date().toISOString());
  if (!active) {
    await deleteData(claimed.id);
    throw new ApiError(410, 'gone', 'Gone', `Image ${claimed.id} could not be found after upload. The image may have been deleted during the upload.`);
  }
  return json(204);
}

async function deleteData(imageId: string): Promise<void> {
  try {
    await objects().send(new DeleteObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: imageObjectKey(imageId) }));
  } catch (error) {
    logger.error('could not delete data of an image deleted during its upload', { image_id: imageId, error: error as Error });
  }
}

/** GET /v2/images/{id}/file: the bytes with their md5 (hex, as glance sends it); 204 while there are none. */
async function download(req: ApiRequest): Promise<ApiResponse> {
  const image = await loadVisibleImage(req);
  if (image.status !== 'active' || image.size === null) return json(204);
  try {
    const out = await objects().send(new GetObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: imageObjectKey(image.id) }));
    const bytes = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
    return { status: 200, body: bytes, headers: { 'Content-Type': 'application/octet-stream', 'Content-MD5': image.checksum ?? '' } };
  } catch (err) {
    if (err instanceof NoSuchKey) throw new NotFound(`Image ${image.id} has no data.`);
    throw err;
  }
}

export const imageDataRoutes: Route[] = [
  { method: 'PUT', path: FILE, service: 'image', handler: upload },
  { method: 'GET', path: FILE, service: 'image', handler: download },
];
