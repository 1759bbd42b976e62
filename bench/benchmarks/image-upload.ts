import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { onPath } from '../../host-agent/config.js';
import { openrc } from '../../infra/local/state-dir.js';
import { sleep } from '../client.js';
import { onOwnCloud, type BenchCloud } from '../local-cloud.js';
import type { Benchmark, BenchResult } from '../result.js';
import { summarize } from '../stats.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const SIZE_MIB = 512;
const ROUNDS = 3;
const ACTIVE_TIMEOUT_MS = 300_000;
const shape = { hosts: 1 };

/**
 * Benchmark 6: a large image through the public endpoint with the real `openstack` CLI, next to
 * the same bytes PUT straight into the local S3 (what the front's storage origin is), alternating,
 * in one run: how much the front (the edge function, the proxying) adds to the upload, how long
 * the image-data function then takes to make the image active, and `image save`.
 */
export const imageUpload: Benchmark = {
  name: 'image-upload',
  unavailable: () => (onPath('openstack') ? undefined : 'the openstack CLI (python3-openstackclient) is not installed'),
  run: () => onOwnCloud(shape, measure),
};

async function measure(cloud: BenchCloud, started: number): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-image-'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...openrcEnvironment(cloud) };
  const problems: string[] = [];
  const rounds: { cli_upload_s: number; direct_put_s: number; active_after_upload_s: number; save_s: number }[] = [];
  try {
    const file = join(dir, 'image.raw');
    await writeRandomFile(file, SIZE_MIB * MIB);
    const md5 = await md5Of(file);
    for (let round = 0; round < ROUNDS; round++) {
      const direct_put_s = await directPut(cloud, file, `bench/direct-${round}`);

      const t0 = performance.now();
      const { stdout } = await run('openstack', ['image', 'create', '--file', file, '--disk-format', 'raw', '--container-format', 'bare', '-f', 'value', '-c', 'id', `bench-big-${round}`], { env });
      const uploaded = performance.now();
      const id = stdout.trim();
      const image = await waitForActive(cloud, id);
      const active = performance.now();
      if (image.checksum !== md5) problems.push(`round ${round}: checksum ${image.checksum}, expected ${md5}`);

      const saved = join(dir, 'saved.raw');
      await run('openstack', ['image', 'save', '--file', saved, id], { env });
      const save_s = (performance.now() - active) / 1000;
      if ((await md5Of(saved)) !== md5) problems.push(`round ${round}: image save gave different bytes`);
      rmSync(saved, { force: true });
      await run('openstack', ['image', 'delete', id], { env });

      rounds.push({ cli_upload_s: (uploaded - t0) / 1000, direct_put_s, active_after_upload_s: (active - uploaded) / 1000, save_s });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const pick = (k: keyof (typeof rounds)[number]) => summarize(rounds.map((r) => r[k]));
  const cli = pick('cli_upload_s');
  const direct = pick('direct_put_s');
  const active = pick('active_after_upload_s');
  const save = pick('save_s');
  const mbps = (seconds: number) => Math.round(((SIZE_MIB * MIB) / 1e6 / seconds) * 10) / 10;
  const ratio = Math.round((cli.p50 / direct.p50) * 100) / 100;
  return {
    name: 'image-upload',
    title: `6. A ${SIZE_MIB} MiB image through the public endpoint with the openstack CLI`,
    cloud: { ...shape, boot_seconds: cloud.bootSeconds },
    method: [
      `one file of ${SIZE_MIB} MiB of random bytes (raw); ${ROUNDS} rounds, each: a presigned PUT of the file straight to the local S3, then \`openstack image create --file\` (admin), polling the image every 100 ms until active, then \`openstack image save\` and a byte check`,
      'cli_upload_s: the CLI process from start to exit (Python start-up and token included); the body goes through the local front (edge function, then streamed to S3)',
      'active_after_upload_s: from the CLI\'s exit to the image active (the image-data function reading, hashing and copying the data)',
      'medians (p50) over the rounds; the ratio is CLI upload / direct PUT, both medians of the same run',
    ],
    metrics: { size_mib: SIZE_MIB, rounds, cli_upload_s: cli, direct_put_s: direct, active_after_upload_s: active, save_s: save, upload_ratio_cli_vs_direct: ratio },
    summary: [
      `upload: CLI ${cli.p50.toFixed(2)} s (${mbps(cli.p50)} MB/s) vs direct S3 PUT ${direct.p50.toFixed(2)} s (${mbps(direct.p50)} MB/s): ×${ratio}, +${(cli.p50 - direct.p50).toFixed(2)} s`,
      `active ${active.p50.toFixed(2)} s after the CLI returns (${mbps(active.p50)} MB/s hashed and copied); image save ${save.p50.toFixed(2)} s`,
    ],
    problems,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The openrc `npm start` writes, as an environment for the CLI. */
function openrcEnvironment(cloud: BenchCloud): Record<string, string> {
  const pairs = openrc(cloud.info)
    .split('\n')
    .filter((line) => line.startsWith('export '))
    .map((line) => line.slice('export '.length).split(/=(.*)/s).slice(0, 2) as [string, string]);
  return Object.fromEntries(pairs);
}

async function directPut(cloud: BenchCloud, file: string, key: string): Promise<number> {
  const s3 = new S3Client({ endpoint: cloud.info.endpoints.s3 ?? cloud.info.endpoints.all, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: cloud.info.imageBucket, Key: key }), { expiresIn: 600 });
  const t0 = performance.now();
  const res = await fetch(url, { method: 'PUT', body: createReadStream(file) as never, duplex: 'half', headers: { 'content-length': String(statSync(file).size) } } as RequestInit);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`direct PUT to S3 failed: ${res.status}`);
  return (performance.now() - t0) / 1000;
}

async function waitForActive(cloud: BenchCloud, id: string): Promise<{ checksum: string }> {
  for (const deadline = Date.now() + ACTIVE_TIMEOUT_MS; Date.now() < deadline; await sleep(100)) {
    const shown = await cloud.client.expect(200, 'GET', `/image/v2/images/${id}`, { token: cloud.adminToken });
    if (shown.body.status === 'active') return shown.body;
  }
  throw new Error(`image ${id} not active after ${ACTIVE_TIMEOUT_MS / 1000} s`);
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  async function* chunks() {
    for (let left = bytes; left > 0; left -= 4 * MIB) yield randomBytes(Math.min(4 * MIB, left));
  }
  await pipeline(chunks(), createWriteStream(path));
}

async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
