import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A real (empty) qcow2 disk image made with qemu-img, with the size and md5 Glance should report. */
export async function makeQcow2(dir: string, virtualSize = '64M'): Promise<{ path: string; size: number; md5: string }> {
  const path = join(dir, 'img.qcow2');
  await run('qemu-img', ['create', '-f', 'qcow2', path, virtualSize]);
  return { path, size: statSync(path).size, md5: createHash('md5').update(readFileSync(path)).digest('hex') };
}

/** An ed25519 key pair made with ssh-keygen, and its MD5 fingerprint as Nova shows it (`aa:bb:...`). */
export async function makeSshKey(dir: string): Promise<{ publicKeyFile: string; md5Fingerprint: string }> {
  const privateKey = join(dir, 'key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'novaless-e2e', '-f', privateKey]);
  const publicKeyFile = `${privateKey}.pub`;
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'md5', '-f', publicKeyFile]);
  const m = /MD5:([0-9a-f:]+)/.exec(stdout);
  if (!m) throw new Error(`unexpected ssh-keygen fingerprint output: ${stdout}`);
  return { publicKeyFile, md5Fingerprint: m[1] };
}
