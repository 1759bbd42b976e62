import { performance } from 'node:perf_hooks';
import { createPublicImage, createTenants, serverBody, sleep, type Tenant } from '../client.js';
import { onOwnCloud, type BenchCloud } from '../local-cloud.js';
import { processCpuMs } from '../process-memory.js';
import type { Benchmark, BenchResult } from '../result.js';
import { ms, summarize } from '../stats.js';

const CREATES = 100;
const PER_PROJECT = 10;
const POLL_MS = 20;
const shape = { hosts: 2 };

/**
 * Benchmark 1: one server at a time, POST /servers then GET /servers/{id} every 20 ms until
 * ACTIVE. Spread over 10 projects (quota: 10 instances each) and kept, not deleted.
 */
export const createLatency: Benchmark = {
  name: 'create-latency',
  run: () => onOwnCloud(shape, measure),
};

async function measure(cloud: BenchCloud, started: number): Promise<BenchResult> {
  const { client } = cloud;
  const imageId = await createPublicImage(client, cloud.adminToken, 'bench-create-latency');
  const tenants = await createTenants(client, cloud.adminToken, 'bench-seq', CREATES / PER_PROJECT);
  const problems: string[] = [];
  const postMs: number[] = [];
  const activeMs: number[] = [];
  let polls = 0;

  // Two unmeasured creates first, so module loading and connection set-up are not in the sample.
  for (let k = 0; k < 2; k++) await createAndWait(cloud, tenants[0], imageId, `warmup-${k}`);
  await deleteAll(cloud, tenants[0]);
  const cpu0 = processCpuMs(cloud.info.pid);

  for (let k = 0; k < CREATES; k++) {
    const tenant = tenants[Math.floor(k / PER_PROJECT)];
    const out = await createAndWait(cloud, tenant, imageId, `seq-${k + 1}`);
    postMs.push(out.postMs);
    polls += out.polls;
    if (out.status === 'ACTIVE') activeMs.push(out.activeMs);
    else problems.push(`server ${out.id} ended ${out.status}`);
  }

  const cpuPerCreate = Math.round((processCpuMs(cloud.info.pid) - cpu0) / CREATES);
  const post = summarize(postMs);
  const active = summarize(activeMs);
  return {
    name: 'create-latency',
    title: '1. create → ACTIVE, 100 sequential creates',
    cloud: { ...shape, boot_seconds: cloud.bootSeconds },
    method: [
      `${CREATES} sequential POST /compute/v2.1/servers (m1.tiny, a raw public image, default network), each then polled with GET /servers/{id} every ${POLL_MS} ms until ACTIVE`,
      `spread over ${tenants.length} projects (${PER_PROJECT} each, under the 10-instance quota); servers are kept, so the cloud holds 0..${CREATES} servers during the run`,
      'create→ACTIVE is measured from sending the POST to the first GET that shows ACTIVE (resolution: the poll interval plus one GET)',
      '2 unmeasured warm-up creates first',
      'control_plane_cpu_ms_per_create: CPU (user+system) of the start.ts process over the 100 creates and their polls, divided by 100',
    ],
    metrics: {
      creates: CREATES,
      poll_interval_ms: POLL_MS,
      post_latency_ms: post,
      create_to_active_ms: active,
      polls_per_create: Math.round((polls / CREATES) * 10) / 10,
      not_active: CREATES - activeMs.length,
      control_plane_cpu_ms_per_create: cpuPerCreate,
    },
    summary: [
      `create→ACTIVE  p50 ${ms(active.p50)}  p95 ${ms(active.p95)}  (max ${ms(active.max)}, n=${active.n})`,
      `POST /servers  p50 ${ms(post.p50)}  p95 ${ms(post.p95)}; control-plane CPU ${cpuPerCreate} ms per create (its polls included)`,
    ],
    problems,
    seconds: (Date.now() - started) / 1000,
  };
}

async function createAndWait(cloud: BenchCloud, tenant: Tenant, imageId: string, name: string) {
  const t0 = performance.now();
  const created = await cloud.client.expect(202, 'POST', '/compute/v2.1/servers', { token: tenant.token, body: serverBody(name, imageId) });
  const id: string = created.body.server.id;
  const deadline = t0 + 60_000;
  let polls = 0;
  for (;;) {
    await sleep(POLL_MS);
    const shown = await cloud.client.expect(200, 'GET', `/compute/v2.1/servers/${id}`, { token: tenant.token });
    polls++;
    const status: string = shown.body.server.status;
    if (status !== 'BUILD' || performance.now() > deadline) return { id, status, postMs: created.ms, activeMs: performance.now() - t0, polls };
  }
}

async function deleteAll(cloud: BenchCloud, tenant: Tenant): Promise<void> {
  const list = await cloud.client.expect(200, 'GET', '/compute/v2.1/servers', { token: tenant.token });
  const ids = (list.body.servers as { id: string }[]).map((s) => s.id);
  for (const id of ids) await cloud.client.expect(204, 'DELETE', `/compute/v2.1/servers/${id}`, { token: tenant.token });
  for (const id of ids) {
    for (let t = 0; t < 500; t++) {
      if ((await cloud.client.call('GET', `/compute/v2.1/servers/${id}`, { token: tenant.token })).status === 404) break;
      await sleep(20);
    }
  }
}
