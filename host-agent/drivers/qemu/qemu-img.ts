import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs qemu-img; its stderr becomes the error message. */
export async function qemuImg(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('qemu-img', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`qemu-img ${args[0]} failed: ${stderr || (error as Error).message}`);
  }
}

export interface ImageInfo {
  format: string;
  virtualSize: number;
  backingFile?: string;
}

/** `qemu-img info` with the format stated (never probed: a raw image could pose as qcow2). */
export async function imageInfo(path: string, format: string, { shared = false } = {}): Promise<ImageInfo> {
  const json = JSON.parse(await qemuImg(['info', '--output', 'json', '-f', format, ...(shared ? ['-U'] : []), path])) as {
    format: string;
    'virtual-size': number;
    'backing-filename'?: string;
  };
  return { format: json.format, virtualSize: json['virtual-size'], backingFile: json['backing-filename'] };
}

/** A qcow2 overlay backed by `backing`, of `sizeBytes` (at least the backing image's size). */
export async function createOverlay(overlay: string, backing: string, sizeBytes: number): Promise<void> {
  await qemuImg(['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', backing, overlay, String(sizeBytes)]);
}

export async function qemuImgVersion(): Promise<string | undefined> {
  try {
    return /version\s+([\d.]+)/.exec(await qemuImg(['--version']))?.[1];
  } catch {
    return undefined;
  }
}
