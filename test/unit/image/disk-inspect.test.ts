import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inspectHead, virtualSizeOf } from '../../../functions/api/image/disk-inspect.js';
import { ImageDataMeter } from '../../../functions/api/image/image-upload.js';
import { ApiError } from '../../../shared/errors.js';

/** A qcow2 header: magic, version, backing file offset, virtual size, and v3 incompatible features. */
function qcow2Header({ version = 3, backing = 0n, size = 1n << 30n, features = 0n } = {}): Buffer {
  const head = Buffer.alloc(104);
  head.writeUInt32BE(0x514649fb, 0);
  head.writeUInt32BE(version, 4);
  head.writeBigUInt64BE(backing, 8);
  head.writeBigUInt64BE(size, 24);
  head.writeBigUInt64BE(features, 72);
  return head;
}

describe('disk inspection', () => {
  it('reads the virtual size of qcow2 and raw images', () => {
    expect(virtualSizeOf('qcow2', qcow2Header({ size: 42n << 20n }), 1000)).toBe(42 * 1024 * 1024);
    expect(virtualSizeOf('raw', Buffer.from('abc'), 3)).toBe(3);
    expect(virtualSizeOf('iso', Buffer.alloc(0), 3)).toBeNull();
  });

  it('refuses qcow2 data that is not qcow2, or that names a backing or external data file', () => {
    expect(() => inspectHead('qcow2', qcow2Header())).not.toThrow();
    expect(() => inspectHead('qcow2', Buffer.from('not a disk'))).toThrow(ApiError);
    expect(() => inspectHead('qcow2', qcow2Header({ backing: 512n }))).toThrow(/backing file/);
    expect(() => inspectHead('qcow2', qcow2Header({ features: 4n }))).toThrow(/external data file/);
    expect(() => inspectHead('raw', Buffer.from('anything'))).not.toThrow();
  });

  it('measures data as it streams: size, md5, sha512, virtual size', async () => {
    const data = Buffer.concat([qcow2Header({ size: 5n << 20n }), Buffer.alloc(70_000, 7)]);
    const meter = new ImageDataMeter('qcow2');
    const chunks = [data.subarray(0, 10), data.subarray(10, 50), data.subarray(50)];
    const passed = await buffer(Readable.from(chunks).pipe(meter));
    expect(passed.equals(data)).toBe(true);
    expect(meter.result()).toEqual({
      size: data.length,
      virtual_size: 5 * 1024 * 1024,
      checksum: createHash('md5').update(data).digest('hex'),
      os_hash_algo: 'sha512',
      os_hash_value: createHash('sha512').update(data).digest('hex'),
    });
  });

  it('fails the stream when the head is refused', async () => {
    const meter = new ImageDataMeter('qcow2');
    await expect(buffer(Readable.from([Buffer.from('plain text, not qcow2')]).pipe(meter))).rejects.toThrow(/does not match/);
  });
});
