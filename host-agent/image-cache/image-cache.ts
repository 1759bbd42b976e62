import type { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { imageObjectKey } from '../../shared/domain/image.js';
import type { ImageMeta } from '../../shared/domain/instance.js';
import { imageInfo, qemuImg } from '../drivers/qemu/qemu-img.js';

export interface CachedImage {
  /** A qcow2 file without a backing file, never written to (overlays point at it). */
  path: string;
  virtual_size: number;
}

export interface ImageCacheOptions {
  /** The cache directory (`<state_dir>/images`). */
  dir: string;
  bucket: string;
  s3: S3Client;
  log: Logger;
  /** How often a download in progress is logged. */
  progressEveryMs?: number;
}

/** The image failed its checksum: Glance recorded another hash than the bytes S3 returned. */
export class ImageChecksumMismatch extends Error {
  constructor(
    readonly imageId: string,
    readonly algo: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`image ${imageId} failed verification: ${algo} is ${actual.slice(0, 16)}..., Glance recorded ${expected.slice(0, 16)}...`);
    this.name = 'ImageChecksumMismatch';
  }
}

/** Glance disk formats → qemu-img format names; others (iso, aki, ...) cannot be a root disk here. */
const QEMU_FORMATS: Record<string, string> = { qcow2: 'qcow2', raw: 'raw', vmdk: 'vmdk', vdi: 'vdi', vhd: 'vpc', vhdx: 'vhdx' };

/**
 * The host's image cache (Nova's _base directory): each image is fetched from S3 once per host,
 * however many guests spawn from it at the same time. Within the agent, parallel requests for
 * one image share one download; across processes, a download goes to a private temporary file
 * and only a verified, converted image is renamed to its final name, so a reader never sees a
 * partial image and two downloaders at worst both download.
 */
export class ImageCache {
  private readonly inFlight = new Map<string, Promise<CachedImage>>();

  constructor(private readonly options: ImageCacheOptions) {}

  pathOf(imageId: string): string {
    return join(this.options.dir, `${imageId}.qcow2`);
  }

  /** The cached image, downloading, verifying and converting it first if needed. */
  ensure(image: ImageMeta): Promise<CachedImage> {
    const existing = this.inFlight.get(image.id);
    if (existing) return existing;
    const fetching = this.fetchOnce(image).finally(() => this.inFlight.delete(image.id));
    this.inFlight.set(image.id, fetching);
    return fetching;
  }

  /** Removes temporary files that a killed agent left behind. */
  async removeLeftovers(): Promise<void> {
    const names = await readdir(this.options.dir).catch(() => [] as string[]);
    for (const name of names) if (name.includes('.part')) await rm(join(this.options.dir, name), { force: true });
  }

  private async fetchOnce(image: ImageMeta): Promise<CachedImage> {
    const final = this.pathOf(image.id);
    if (await exists(final)) return { path: final, virtual_size: (await imageInfo(final, 'qcow2')).virtualSize };

    const format = QEMU_FORMATS[image.disk_format ?? ''];
    if (!format) throw new Error(`image ${image.id} has disk_format ${image.disk_format ?? 'none'}, which cannot boot a guest here (use one of ${Object.keys(QEMU_FORMATS).join(', ')})`);

    await mkdir(this.options.dir, { recursive: true });
    const unique = `${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}`;
    const download = join(this.options.dir, `${image.id}.${unique}.part`);
    const converted = join(this.options.dir, `${image.id}.${unique}.part.qcow2`);
    try {
      await this.download(image, download);
      const info = await imageInfo(download, format);
      // A backing file in a user's image would make QEMU read a file of the host's choosing.
      if (info.backingFile) throw new Error(`image ${image.id} has a backing file (${info.backingFile}): refused`);
      if (format === 'qcow2') {
        await rename(download, converted);
      } else {
        const started = Date.now();
        await qemuImg(['convert', '-f', format, '-O', 'qcow2', download, converted]);
        this.options.log.info('converted image to qcow2', { image_id: image.id, from: format, convert_ms: Date.now() - started });
      }
      await rename(converted, final);
      return { path: final, virtual_size: info.virtualSize };
    } finally {
      await rm(download, { force: true });
      await rm(converted, { force: true });
    }
  }

  private async download(image: ImageMeta, file: string): Promise<void> {
    const { log, progressEveryMs = 5000 } = this.options;
    const started = Date.now();
    const response = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: imageObjectKey(image.id) }));
    const total = response.ContentLength ?? image.size ?? 0;
    const algo = image.os_hash_algo ?? 'sha512';
    const hash = createHash(algo);
    let received = 0;
    let lastLog = started;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        hash.update(chunk);
        const now = Date.now();
        if (now - lastLog >= progressEveryMs) {
          lastLog = now;
          const percent = total ? `${Math.floor((received / total) * 100)}% of ${humanBytes(total)}` : humanBytes(received);
          log.info(`downloading image ${image.id}: ${percent}`, { image_id: image.id, received_bytes: received, total_bytes: total });
        }
        done(null, chunk);
      },
    });
    await pipeline(response.Body as Readable, meter, createWriteStream(file, { mode: 0o600 }));
    const actual = hash.digest('hex');
    if (image.os_hash_value && actual !== image.os_hash_value.toLowerCase()) throw new ImageChecksumMismatch(image.id, algo, image.os_hash_value, actual);
    log.info('downloaded image', { image_id: image.id, bytes: received, download_ms: Date.now() - started, verified: Boolean(image.os_hash_value) });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
