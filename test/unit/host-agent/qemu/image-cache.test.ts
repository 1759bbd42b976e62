import { PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageObjectKey } from '../../../../shared/domain/image.js';
import type { ImageMeta } from '../../../../shared/domain/instance.js';
import { ImageCache, ImageChecksumMismatch } from '../../../../host-agent/image-cache/image-cache.js';
import { silentLogger, tempDir } from '../support.js';

const BUCKET = 'images';
let server: S3rver;
let s3: S3Client;
let gets = 0;

beforeAll(async () => {
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: await tempDir('s3rver-'), vhostBuckets: false });
  const { port } = await server.run();
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') gets++;
      return next(args);
    },
    { step: 'initialize' },
  );
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  s3?.destroy();
  await server?.close();
});

/** Uploads bytes as an image the way Glance stores it, and returns its metadata with the sha512. */
async function upload(bytes: Buffer, diskFormat: string, hash = createHash('sha512').update(bytes).digest('hex')): Promise<ImageMeta> {
  const id = randomUUID();
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: imageObjectKey(id), Body: bytes }));
  return { id, disk_format: diskFormat, size: bytes.length, virtual_size: null, os_hash_algo: 'sha512', os_hash_value: hash };
}

const rawDisk = (mib: number) => {
  const bytes = Buffer.alloc(mib * 1024 * 1024);
  for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i, i);
  return bytes;
};

describe('image cache', () => {
  it('downloads an image once however many spawns want it at the same time, and converts raw to qcow2', async () => {
    const dir = join(await tempDir('image-cache-'), 'images');
    const cache = new ImageCache({ dir, bucket: BUCKET, s3, log: silentLogger() });
    const raw = rawDisk(8);
    const image = await upload(raw, 'raw');
    gets = 0;
    const results = await Promise.all(Array.from({ length: 5 }, () => cache.ensure(image)));
    expect(gets).toBe(1);
    expect(new Set(results.map((r) => r.path))).toEqual(new Set([cache.pathOf(image.id)]));
    expect(results[0].virtual_size).toBe(8 * 1024 * 1024);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output', 'json', results[0].path]).toString());
    expect(info.format).toBe('qcow2');
    const rawFile = join(dir, '..', 'raw.img');
    await writeFile(rawFile, raw);
    execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', rawFile, results[0].path]); // throws unless identical
    expect(await readdir(dir)).toEqual([`${image.id}.qcow2`]);

    // A later spawn (or a new agent on the same dir) uses the cached file.
    const again = await new ImageCache({ dir, bucket: BUCKET, s3, log: silentLogger() }).ensure(image);
    expect(again.path).toBe(results[0].path);
    expect(gets).toBe(1);
  });

  it('keeps a qcow2 image as it is', async () => {
    const work = await tempDir('image-cache-');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(work, 'src.qcow2'), '32M']);
    const bytes = await readFile(join(work, 'src.qcow2'));
    const image = await upload(bytes, 'qcow2');
    const cached = await new ImageCache({ dir: join(work, 'images'), bucket: BUCKET, s3, log: silentLogger() }).ensure(image);
    expect(await readFile(cached.path)).toEqual(bytes);
    expect(cached.virtual_size).toBe(32 * 1024 * 1024);
  });

  it('refuses an image whose bytes do not match the recorded sha512, and leaves nothing behind', async () => {
    const dir = join(await tempDir('image-cache-'), 'images');
    const image = await upload(rawDisk(1), 'raw', 'ab'.repeat(64));
    const cache = new ImageCache({ dir, bucket: BUCKET, s3, log: silentLogger() });
    await expect(cache.ensure(image)).rejects.toBeInstanceOf(ImageChecksumMismatch);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a qcow2 image with a backing file, and formats that cannot boot', async () => {
    const work = await tempDir('image-cache-');
    execFileSync('qemu-img', ['create', '-q', '-u', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/hostname', join(work, 'evil.qcow2'), '16M']);
    const cache = new ImageCache({ dir: join(work, 'images'), bucket: BUCKET, s3, log: silentLogger() });
    await expect(cache.ensure(await upload(await readFile(join(work, 'evil.qcow2')), 'qcow2'))).rejects.toThrow(/backing file/);
    await expect(cache.ensure(await upload(Buffer.from('x'), 'iso'))).rejects.toThrow(/cannot boot a guest here/);
  });

  it('logs the progress of a long download', async () => {
    const lines: string[] = [];
    const log = silentLogger();
    log.info = ((message: string) => void lines.push(message)) as never;
    const image = await upload(rawDisk(16), 'raw');
    await new ImageCache({ dir: join(await tempDir('image-cache-'), 'images'), bucket: BUCKET, s3, log, progressEveryMs: 0 }).ensure(image);
    expect(lines.some((line) => /^downloading image .*: \d+% of 16\.0 MiB$/.test(line))).toBe(true);
  });
});
