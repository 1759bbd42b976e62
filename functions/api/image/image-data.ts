import { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { objects } from '../../../shared/aws.js';
import { config } from '../../../shared/config.js';
import { imageObjectKey } from '../../../shared/domain/image.js';
import { ApiError, Conflict, NotFound, RequestTooLarge, UnsupportedMediaType } from '../../../shared/errors.js';
import { claimUpload, completeUpload, releaseUpload } from '../../../shared/store/images.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { assertCanReceiveData, deleteImageObject, storeImageData } from './image-upload.js';
import { loadVisibleImage } from './images.js';

const FILE = '/image/v2/images/{image_id}/file';

/**
 * The largest image PUT whose bytes pass through the function. A Lambda invocation carries at
 * most 6 MB, and API Gateway hands binary bodies over base64-encoded (4 bytes per 3), with
 * headers beside them. The public front sends larger uploads to S3 instead (docs/images.md,
 * image-data-arrival.ts); its edge function (infra/edge/) holds the same number.
 */
export const MAX_UPLOAD_BYTES = Math.floor(((6 * 1024 * 1024 - 64 * 1024) * 3) / 4);

/** The largest image GET answered with the bytes themselves; larger downloads are redirected to S3. */
export const MAX_INLINE_DOWNLOAD_BYTES = MAX_UPLOAD_BYTES;

/** Validity of the presigned URLs a download redirect hands out; S3 checks it when the transfer starts. */
const PRESIGNED_URL_SECONDS = 3600;

const octetStream = (req: ApiRequest) =>
  (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === 'application/octet-stream';

/** Sent without a length (`Transfer-Encoding: chunked`): the front cannot send it to S3, which wants one. */
const unknownLength = (req: ApiRequest) => req.headers['content-length'] === undefined || /chunked/i.test(req.headers['transfer-encoding'] ?? '');

/**
 * PUT /v2/images/{id}/file with data that fits in one invocation (the front sends larger data of
 * a known length to S3), and data of unknown length (chunked) up to the same size: queued →
 * saving → active in the request, 204, as Glance. A failure puts the image back to queued.
 */
async function upload(req: ApiRequest): Promise<ApiResponse> {
  if (!octetStream(req)) throw new UnsupportedMediaType('Image data must be sent as application/octet-stream.');
  if (req.body.length > MAX_UPLOAD_BYTES) {
    throw new RequestTooLarge(
      unknownLength(req)
        ? `Image data sent without Content-Length (chunked) goes through the API function, which takes at most ${MAX_UPLOAD_BYTES} bytes; send larger images with their Content-Length (openstack image create --file does), and the public endpoint puts them straight into storage.`
        : `Image data of ${req.body.length} bytes exceeds the ${MAX_UPLOAD_BYTES} bytes the API function accepts; larger uploads go through the public endpoint (CloudFront), not the API Gateway URL.`,
    );
  }
  const image = await loadVisibleImage(req);
  assertCanReceiveData(image, req.auth);

  const claimed = await claimUpload(image, new Date());
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
    await deleteImageObject(imageObjectKey(claimed.id));
    throw new ApiError(410, 'gone', 'Gone', `Image ${claimed.id} could not be found after upload. The image may have been deleted during the upload.`);
  }
  return json(204);
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
