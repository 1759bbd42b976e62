import { BadRequest } from '../../../shared/errors.js';
import type { DiskFormat } from '../../../shared/domain/image.js';

/** Bytes of the start of an image that `inspectHead` needs (the qcow2 v3 header up to its feature bits). */
export const HEAD_BYTES = 104;

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
/** qcow2 v3 incompatible feature bit 2: the guest data lives in an external file named by the image. */
const QCOW2_EXTERNAL_DATA_FILE = 1n << 2n;

/**
 * Checks the start of uploaded data against its declared disk format, and refuses qcow2 images
 * that name other files (a backing file or an external data file): a host that opened them
 * would read files of its own choosing (the class of CVE-2024-32498).
 */
export function inspectHead(diskFormat: DiskFormat | null, head: Buffer): void {
  if (diskFormat !== 'qcow2') return;
  if (head.length < 32 || head.readUInt32BE(0) !== QCOW2_MAGIC) {
    throw new BadRequest('Image data does not match its disk_format qcow2.');
  }
  if (head.readBigUInt64BE(8) !== 0n) throw new BadRequest('qcow2 images with a backing file are not allowed.');
  const version = head.readUInt32BE(4);
  if (version >= 3 && head.length >= 80 && (head.readBigUInt64BE(72) & QCOW2_EXTERNAL_DATA_FILE) !== 0n) {
    throw new BadRequest('qcow2 images with an external data file are not allowed.');
  }
}

/** The size of the disk an image holds: qcow2 says so in its header; a raw image is its disk. */
export function virtualSizeOf(diskFormat: DiskFormat | null, head: Buffer, size: number): number | null {
  if (diskFormat === 'raw') return size;
  if (diskFormat === 'qcow2' && head.length >= 32 && head.readUInt32BE(0) === QCOW2_MAGIC) {
    return Number(head.readBigUInt64BE(24));
  }
  return null;
}
