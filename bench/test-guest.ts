import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../infra/local/state-dir.js';
import { sleep } from './client.js';
import type { BenchCloud } from './local-cloud.js';

/** What the test guest prints on its serial console as soon as its /init runs (test/guest/README.md). */
export const BOOT_MARKER = 'NOVALESS-GUEST-BOOTED';

const run = promisify(execFile);

/** Builds the test guest if it is not cached yet (test/guest/build-test-guest.sh) and answers its path. */
export async function ensureTestGuest(): Promise<string> {
  const { stdout } = await run('bash', [join(repoRoot, 'test/guest/build-test-guest.sh')], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 });
  const cacheDir = process.env.NOVALESS_GUEST_CACHE_DIR ?? join(repoRoot, 'test/.cache/guest');
  const image = join(cacheDir, 'novaless-test-guest.qcow2');
  await readFile(image).catch(() => {
    throw new Error(`build-test-guest.sh made no ${image}:\n${stdout}`);
  });
  return image;
}

/**
 * Uploads the test guest as a public qcow2 image, the way `openstack image create --file` does:
 * one PUT of the data to the public endpoint, whose front puts data larger than one function
 * request into S3 (200); the image turns active once the image-data function has filed it.
 */
export async function uploadTestGuest(cloud: BenchCloud, imagePath: string, name: string): Promise<string> {
  const { client, adminToken } = cloud;
  const created = await client.expect(201, 'POST', '/image/v2/images', {
    token: adminToken,
    body: { name, disk_format: 'qcow2', container_format: 'bare', visibility: 'public' },
  });
  const id: string = created.body.id;
  const bytes = await readFile(imagePath);
  const headers = { 'X-Auth-Token': adminToken, 'Content-Type': 'application/octet-stream' };
  const put = await fetch(`${client.apiUrl}/image/v2/images/${id}/file`, { method: 'PUT', headers, body: bytes });
  if (put.status !== 200 && put.status !== 204) throw new Error(`image data PUT failed: ${put.status} ${await put.text()}`);
  await put.arrayBuffer();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
    const shown = await client.expect(200, 'GET', `/image/v2/images/${id}`, { token: adminToken });
    if (shown.body.status === 'active') return id;
  }
  throw new Error(`image ${id} did not become active in 60 s`);
}

/** Whether a console log file holds the boot marker yet (absent file: not yet). */
export async function consoleHasMarker(consoleFile: string): Promise<boolean> {
  try {
    return (await readFile(consoleFile, 'latin1')).includes(BOOT_MARKER);
  } catch {
    return false;
  }
}
