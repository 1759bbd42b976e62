import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { objects } from '../../../shared/aws.js';
import { config } from '../../../shared/config.js';
import { imageObjectKey } from '../../../shared/domain/image.js';
import { ApiError, BadRequest, Conflict, NotFound, RequestTooLarge, UnsupportedMediaType } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { functionSettings } from '../../../shared/resources.js';
import { claimUpload, completeUpload, releaseUpload } from '../../../shared/store/images.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { assertCanModify } from './image-policy.js';
import { storeImageData } from './image-upload.js';
import { loadVisibleImage } from './images.js';

const FILE = '/image/v2/images/{image_id}/file';

/**
 * The largest image PUT whose bytes pass through the function. A Lambda invocation carries at
 * most 6 MB, and API Gateway hands binary bodies over base64-encoded (4 bytes per 3), with
 * headers beside them. Larger data is redirected to S3 (see docs/images.md).
 */
export const MAX_UPLOAD_BYTES = Math.floor(((6 * 1024 * 1024 - 64 * 1024) * 3) / 4);

/** The largest image GET answered with the bytes themselves; larger downloads are redirected to S3. */
export const MAX_INLINE_DOWNLOAD_BYTES = MAX_UPLOAD_BYTES;

/** S3's limit for one PUT: larger images cannot take the redirected single-request upload. */
export const MAX_REDIRECTED_UPLOAD_BYTES = 5 * 1024 ** 3;

/** Validity of the presigned URLs a redirect hands out; S3 checks it when the transfer starts. */
const PRESIGNED_URL_SECONDS = 3600;

/** An upload whose function died leaves the image in `saving`; past twice the API's timeout it may be retried. */
const STALE_SAVING_MS = 2 * functionSettings.api.timeoutSeconds * 1000;

const octetStream = (req: ApiRequest) =>
  (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === 'application/octet-stream';

/** The Content-Length the client declared: the front hands larger bodies' headers only (docs/images.md). */
function declaredLength(req: ApiRequest): number {
  const header = req.headers['content-length'];
  if (header === undefined) return req.body.length;
  const length = Number(header);
  if (!Number.isSafeInteger(length) || length < 0) throw new BadRequest(`Invalid Content-Length ${header}.`);
  return length;
}

/**
 * PUT /v2/images/{id}/file: queued → saving → active. Data that fits in one function invocation
 * is stored and hashed here (204). Larger data is answered 307 to a presigned S3 PUT of the
 * image's object: the client re-sends the body there, and the S3 ObjectCreated event hashes it
 * and activates the image (image-data-arrival.ts). A failure puts the image back to queued.
 */
async function upload(req: ApiRequest): Promise<ApiResponse> {
  if (!octetStream(req)) throw new UnsupportedMediaType('Image data must be sent as application/octet-stream.');
  if (req.body.length > MAX_UPLOAD_BYTES) {
    throw new RequestTooLarge(`Image data of ${req.body.length} bytes exceeds the ${MAX_UPLOAD_BYTES} bytes this API accepts in one request.`);
  }
  const length = declaredLength(req);
  if (length > MAX_REDIRECTED_UPLOAD_BYTES) {
    throw new RequestTooLarge(`Image data of ${length} bytes exceeds the ${MAX_REDIRECTED_UPLOAD_BYTES} bytes (5 GiB) of a single upload.`);
  }
  const image = await loadVisibleImage(req);
  assertCanModify(image, req.auth, 'upload data to');
  if (!image.disk_format || !image.container_format) {
    throw new BadRequest('Properties disk_format, container_format must be set prior to saving data.');
  }

  const now = Date.now();
  const claimed = await claimUpload(image, new Date(now).toISOString(), new Date(now - STALE_SAVING_MS).toISOString());
  if (!claimed) throw new Conflict(`Image status transition from ${image.status} to saving is not allowed`);

  if (length > MAX_UPLOAD_BYTES) return redirectUpload(claimed.id, length);

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

async function redirectUpload(imageId: string, length: number): Promise<ApiResponse> {
  const command = new PutObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: imageObjectKey(imageId) });
  const location = await getSignedUrl(objects(), command, { expiresIn: PRESIGNED_URL_SECONDS });
  logger.info('image upload redirected to storage', { image_id: imageId, bytes: length });
  return { status: 307, headers: { Location: location } };
}

async function deleteData(imageId: string): Promise<void> {
  try {
    await objects().send(new DeleteObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: imageObjectKey(imageId) }));
  } catch (error) {
    logger.error('could not delete data of an image deleted during its upload', { image_id: imageId, error: error as Error });
  }
}

/**
 * GET /v2/images/{id}/file: the bytes with their md5 (hex, as glance sends it); 204 while there
 * are none. Data too large for a function's response is answered 307 to a presigned S3 GET
 * (without Content-MD5 there, openstacksdk checks the image's `checksum` instead).
 */
async function download(req: ApiRequest): Promise<ApiResponse> {
  const image = await loadVisibleImage(req);
  if (image.status !== 'active' || image.size === null) return json(204);
  if (image.size > MAX_INLINE_DOWNLOAD_BYTES) {
    const command = new GetObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: imageObjectKey(image.id) });
    const location = await getSignedUrl(objects(), command, { expiresIn: PRESIGNED_URL_SECONDS });
    return { status: 307, headers: { Location: location } };
  }
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
