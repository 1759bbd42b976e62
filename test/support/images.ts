import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { api } from './cloud.js';

const run = promisify(execFile);

/** Uploads a real (empty) qcow2 made with qemu-img as a public image and returns its id once active. */
export async function uploadTestImage(name: string, adminToken: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'novaless-image-'));
  try {
    const file = join(dir, 'disk.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', file, '64M']);
    const created = await api('POST', '/image/v2/images', {
      token: adminToken,
      body: { name, disk_format: 'qcow2', container_format: 'bare', visibility: 'public' },
    });
    if (created.status !== 201) throw new Error(`image create failed: ${created.status} ${JSON.stringify(created.body)}`);
    const id = created.body.id as string;
    const uploaded = await api('PUT', `/image/v2/images/${id}/file`, {
      token: adminToken,
      rawBody: await readFile(file),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (uploaded.status !== 204) throw new Error(`image upload failed: ${uploaded.status} ${JSON.stringify(uploaded.body)}`);
    return id;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
