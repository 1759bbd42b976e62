import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { objects } from '../../../shared/aws.js';
import { config } from '../../../shared/config.js';
import { imageObjectKey, type DiskFormat, type Image } from '../../../shared/domain/image.js';
import { BadRequest } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import type { UploadedData } from '../../../shared/store/images.js';
import type { Caller } from '../identity/token-context.js';
import { HEAD_BYTES, inspectHead, virtualSizeOf } from './disk-inspect.js';
import { assertCanModify } from './image-policy.js';

/** What Glance checks before it takes an image's data: the caller may change it (404, 403) and its formats are set (400). */
export function assertCanReceiveData(image: Image, caller: Caller): void {
  assertCanModify(image, caller, 'upload data to');
  if (!image.disk_format || !image.container_format) {
    throw new BadRequest('Properties disk_format, container_format must be set prior to saving data.');
  }
}

/** Counts, hashes and inspects the bytes flowing through it; fails the stream on a refused disk header. */
export class ImageDataMeter extends Transform {
  private readonly md5 = createHash('md5');
  private readonly sha512 = createHash('sha512');
  private head = Buffer.alloc(0);
  private inspected = false;
  // Not `size`: lib-storage's Upload reads a body's `size` as its length.
  private bytes = 0;

  constructor(private readonly diskFormat: DiskFormat | null) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.md5.update(chunk);
    this.sha512.update(chunk);
    this.bytes += chunk.length;
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
    try {
      if (!this.inspected && this.head.length >= HEAD_BYTES) this.inspect();
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.inspected) this.inspect();
    } catch (err) {
      return done(err as Error);
    }
    done();
  }

  private inspect(): void {
    this.inspected = true;
    inspectHead(this.diskFormat, this.head);
  }

  result(): UploadedData {
    return {
      size: this.bytes,
      virtual_size: virtualSizeOf(this.diskFormat, this.head, this.bytes),
      checksum: this.md5.digest('hex'),
      os_hash_algo: 'sha512',
      os_hash_value: this.sha512.digest('hex'),
    };
  }
}

/**
 * Streams image data into the image bucket (multipart for large data, aborted on failure)
 * and returns its size and hashes, computed on the way.
 */
export async function storeImageData(imageId: string, diskFormat: DiskFormat | null, source: Readable): Promise<UploadedData> {
  const meter = new ImageDataMeter(diskFormat);
  source.on('error', (err) => meter.destroy(err));
  const upload = new Upload({
    client: objects(),
    params: {
      Bucket: config().IMAGE_BUCKET,
      Key: imageObjectKey(imageId),
      Body: source.pipe(meter),
      ContentType: 'application/octet-stream',
    },
  });
  await upload.done();
  return meter.result();
}

/** Deletes an object of the image bucket while cleaning up after an upload: a failure is logged, not thrown. */
export async function deleteImageObject(key: string): Promise<void> {
  try {
    await objects().send(new DeleteObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: key }));
  } catch (error) {
    logger.error('could not delete image data', { key, error: error as Error });
  }
}
