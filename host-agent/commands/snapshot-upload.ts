import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

export interface PartUpload {
  part_size: number;
  part_urls: string[];
}

export interface UploadedSnapshot {
  parts: { part_number: number; etag: string }[];
  size: number;
  checksum: string;
  os_hash_value: string;
  /** The first bytes, for the disk format's header. */
  head: Buffer;
}

const HEAD_BYTES = 512;

/**
 * Sends image bytes to presigned multipart part URLs: one PUT per `part_size` bytes (the last
 * shorter; an empty image is one empty part), hashing on the way (md5 for Glance's checksum,
 * sha512 for os_hash_value). A part is held in memory while it is sent.
 */
export async function uploadToPresignedParts(source: Readable, upload: PartUpload, signal?: AbortSignal): Promise<UploadedSnapshot> {
  const md5 = createHash('md5');
  const sha512 = createHash('sha512');
  const parts: UploadedSnapshot['parts'] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let size = 0;
  let head = Buffer.alloc(0);

  const sendPart = async (body: Buffer<ArrayBuffer>) => {
    const partNumber = parts.length + 1;
    const url = upload.part_urls[partNumber - 1];
    if (!url) throw new Error(`the snapshot is larger than the ${upload.part_urls.length} parts of ${upload.part_size} bytes it was given`);
    const res = await fetch(url, { method: 'PUT', body, signal, headers: { 'Content-Length': String(body.length) } });
    if (!res.ok) throw new Error(`upload of part ${partNumber} failed: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    const etag = res.headers.get('etag');
    if (!etag) throw new Error(`upload of part ${partNumber} returned no ETag`);
    parts.push({ part_number: partNumber, etag });
  };

  for await (const chunk of source as AsyncIterable<Buffer>) {
    md5.update(chunk);
    sha512.update(chunk);
    size += chunk.length;
    if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= upload.part_size) {
      const all = Buffer.concat(pending);
      await sendPart(all.subarray(0, upload.part_size));
      const rest = all.subarray(upload.part_size);
      pending = rest.length ? [rest] : [];
      pendingBytes = rest.length;
    }
  }
  if (pendingBytes > 0 || parts.length === 0) await sendPart(Buffer.concat(pending));
  return { parts, size, checksum: md5.digest('hex'), os_hash_value: sha512.digest('hex'), head };
}

/** A qcow2 image's virtual disk size (big-endian u64 at offset 24 of its header); null when it is not qcow2. */
export function qcow2VirtualSize(head: Buffer): number | null {
  if (head.length < 32 || head.readUInt32BE(0) !== 0x514649fb) return null;
  return Number(head.readBigUInt64BE(24));
}
