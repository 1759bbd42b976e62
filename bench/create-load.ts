import { performance } from 'node:perf_hooks';
import { createPublicImage, createTenants, serverBody, sleep, TINY } from './client.js';
import type { BenchCloud, CloudShape } from './local-cloud.js';
import { processCpuMs } from './process-memory.js';
import { summarize, type Summary } from './stats.js';

export const LOAD_SERVERS = 200;
const PER_PROJECT = 10;
const POLL_MS = 100;

/** 20 small hosts (16 vCPUs at ratio 4.0, 8 GB): 320 m1.tiny fit, so 200 fill them to 62 % and the claims race. */
export const loadShape: CloudShape = { hosts: 20, hostVcpus: 4, hostMemoryMb: 8192, hostDiskGb: 100 };

export interface LoadOutcome {
  post_latency_ms: Summary;
  post_failures: number;
  /** From the first POST sent to the last server seen ACTIVE. */
  all_active_seconds: number | null;
  /** Per server: POST sent → first list that shows it ACTIVE (resolution: the poll interval). */
  create_to_active_ms: Summary;
  final_status: Record<string, number>;
  /** CPU of the control-plane process from the first POST to the last ACTIVE, per server (progress polls included). */
  control_plane_cpu_ms_per_server: number;
  problems: string[];
}

/**
 * 200 POST /servers sent at once from 20 projects (10 each, the instance quota), then an admin
 * `GET /servers/detail?all_tenants=1` every 100 ms until every server has left BUILD.
 */
export async function runCreateLoad(cloud: BenchCloud, label: string): Promise<LoadOutcome> {
  const { client } = cloud;
  const imageId = await createPublicImage(client, cloud.adminToken, `bench-${label}`);
  const tenants = await createTenants(client, cloud.adminToken, `bench-${label}`, LOAD_SERVERS / PER_PROJECT);
  const problems: string[] = [];

  const cpu0 = processCpuMs(cloud.info.pid);
  const t0 = performance.now();
  const posts = await Promise.all(
    Array.from({ length: LOAD_SERVERS }, (_, k) => {
      const tenant = tenants[k % tenants.length];
      return client.call('POST', '/compute/v2.1/servers', { token: tenant.token, body: serverBody(`${label}-${k + 1}`, imageId) });
    }),
  );
  const failed = posts.filter((p) => p.status !== 202);
  for (const p of failed.slice(0, 5)) problems.push(`POST /servers answered ${p.status}: ${JSON.stringify(p.body).slice(0, 200)}`);
  const pending = new Set(posts.filter((p) => p.status === 202).map((p) => p.body.server.id as string));
  const activeAt = new Map<string, number>();
  const finalStatus: Record<string, number> = {};

  const deadline = t0 + 180_000;
  while (pending.size > 0 && performance.now() < deadline) {
    await sleep(POLL_MS);
    const list = await client.expect(200, 'GET', '/compute/v2.1/servers/detail?all_tenants=1', { token: cloud.adminToken });
    const seenAt = performance.now();
    for (const s of list.body.servers as { id: string; status: string }[]) {
      if (!pending.has(s.id) || s.status === 'BUILD') continue;
      pending.delete(s.id);
      finalStatus[s.status] = (finalStatus[s.status] ?? 0) + 1;
      if (s.status === 'ACTIVE') activeAt.set(s.id, seenAt - t0);
    }
  }
  const cpuMs = processCpuMs(cloud.info.pid) - cpu0;
  if (pending.size > 0) {
    finalStatus.BUILD = pending.size;
    problems.push(`${pending.size} servers still in BUILD after 180 s`);
  }
  for (const [status, n] of Object.entries(finalStatus)) if (status !== 'ACTIVE') problems.push(`${n} servers ended ${status}`);

  const activeTimes = [...activeAt.values()];
  return {
    post_latency_ms: summarize(posts.map((p) => p.ms)),
    post_failures: failed.length,
    all_active_seconds: activeAt.size === LOAD_SERVERS ? Math.round(Math.max(...activeTimes)) / 1000 : null,
    create_to_active_ms: summarize(activeTimes),
    final_status: finalStatus,
    control_plane_cpu_ms_per_server: Math.round(cpuMs / LOAD_SERVERS),
    problems,
  };
}

interface Hypervisor {
  hypervisor_hostname: string;
  vcpus: number;
  vcpus_used: number;
  memory_mb: number;
  memory_mb_used: number;
  local_gb: number;
  local_gb_used: number;
  running_vms: number;
}

/**
 * No host holds more than it has (vCPU at the default ratio 4.0, RAM and disk at 1.0), and the
 * claims add up to exactly what the active servers need: none lost, none counted twice.
 */
export async function checkClaims(cloud: BenchCloud, activeServers: number) {
  const out = await cloud.client.expect(200, 'GET', '/compute/v2.1/os-hypervisors/detail', { token: cloud.adminToken });
  const hosts = out.body.hypervisors as Hypervisor[];
  const problems: string[] = [];
  for (const h of hosts) {
    if (h.vcpus_used > h.vcpus * 4) problems.push(`${h.hypervisor_hostname}: vcpus_used ${h.vcpus_used} > ${h.vcpus} × 4`);
    if (h.memory_mb_used > h.memory_mb) problems.push(`${h.hypervisor_hostname}: memory_mb_used ${h.memory_mb_used} > ${h.memory_mb}`);
    if (h.local_gb_used > h.local_gb) problems.push(`${h.hypervisor_hostname}: local_gb_used ${h.local_gb_used} > ${h.local_gb}`);
  }
  const sum = (f: (h: Hypervisor) => number) => hosts.reduce((n, h) => n + f(h), 0);
  const used = { vcpus: sum((h) => h.vcpus_used), memory_mb: sum((h) => h.memory_mb_used), local_gb: sum((h) => h.local_gb_used), running_vms: sum((h) => h.running_vms) };
  const expected = { vcpus: activeServers * TINY.vcpus, memory_mb: activeServers * TINY.ram, local_gb: activeServers * TINY.disk, running_vms: activeServers };
  for (const k of Object.keys(expected) as (keyof typeof expected)[]) {
    if (used[k] !== expected[k]) problems.push(`sum of ${k} used is ${used[k]}, expected ${expected[k]} (${activeServers} × m1.tiny)`);
  }
  const perHost = hosts.map((h) => h.running_vms);
  return {
    ok: problems.length === 0,
    used,
    expected,
    servers_per_host: { min: Math.min(...perHost), max: Math.max(...perHost) },
    max_vcpus_used: Math.max(...hosts.map((h) => h.vcpus_used)),
    max_memory_mb_used: Math.max(...hosts.map((h) => h.memory_mb_used)),
    problems,
  };
}
