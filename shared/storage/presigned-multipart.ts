import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { objects } from '../aws.js';

/**
 * S3 multipart uploads whose parts are sent by someone without S3 credentials (a client
 * uploading a large image, a host agent uploading a snapshot): the control plane starts the
 * upload and hands out one presigned URL per part; the uploader PUTs each part and returns
 * the ETags; the control plane completes (or aborts) it. S3 limits: parts of 5 MiB..5 GiB
 * (the last may be smaller), at most 10,000 parts.
 */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

export interface PresignedUpload {
  uploadId: string;
  partSize: number;
  partUrls: string[];
}

export async function startPresignedUpload(
  bucket: string,
  key: string,
  opts: { partCount: number; partSize: number; expiresInSeconds?: number },
): Promise<PresignedUpload> {
  if (opts.partCount < 1 || opts.partCount > MAX_PARTS) throw new RangeError(`partCount must be 1..${MAX_PARTS}`);
  const { UploadId } = await objects().send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const partUrls = await Promise.all(
    Array.from({ length: opts.partCount }, (_, i) =>
      getSignedUrl(objects(), new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1 }), {
        expiresIn: opts.expiresInSeconds ?? 3600,
      }),
    ),
  );
  return { uploadId: UploadId!, partSize: opts.partSize, partUrls };
}

export async function completePresignedUpload(bucket: string, key: string, uploadId: string, parts: { PartNumber: number; ETag: string }[]): Promise<void> {
  await objects().send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
  );
}

export async function abortPresignedUpload(bucket: string, key: string, uploadId: string): Promise<void> {
  await objects().send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
}
