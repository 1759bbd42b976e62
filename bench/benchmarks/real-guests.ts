import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { qemuInstalled } from '../../host-agent/config.js';
import { instancePaths } from '../../host-agent/drivers/qemu/instance-dir.js';
import { imageInfo } from '../../host-agent/drivers/qemu/qemu-img.js';
import { qemuArgs } from '../../host-agent/drivers/qemu/qemu-process.js';
import { GuestSpecSchema } from '../../shared/messages/host.js';
import { createTenants, serverBody, sleep, TINY, type Tenant } from '../client.js';
import { bootDirect, type DirectBoot, type DirectGuest } from '../direct-launch.js';
import { commandLine, guestQemus } from '../guest-processes.js';
import { startCloud, type BenchCloud, type CloudShape } from '../local-cloud.js';
import { childProcesses, processMemory } from '../process-memory.js';
import type { Benchmark, BenchResult } from '../result.js';
import { summarize } from '../stats.js';
import { BOOT_MARKER, consoleHasMarker, ensureTestGuest, uploadTestGuest } from '../test-guest.js';

const ROUNDS = 5;
const PARALLEL = 10;
const BOOT_TIMEOUT_MS = 120_000;
const PARALLEL_TIMEOUT_MS = 240_000;
const STATUS_POLL_MS = 100;
const FILE_POLL_MS = 50;
/** The agent publishes console tails to S3 every ~3 s: polling the API faster would only add load. */
const CONSOLE_API_POLL_MS = 500;
const SETTLE_MS = 3000;

/**
 * One host running the real QEMU driver. 10 m1.tiny need 10 vCPUs: with the current default
 * cpu_allocation_ratio (4.0) a 2-CPU machine offers 8, so the host gets 16.0 (Nova's default
 * before Stein). RAM stays at 1.0: 10 × 512 MB must really be there.
 */
const shape: CloudShape = { hosts: 1, driver: 'qemu', cpuAllocationRatio: 16 };

interface Context {
  cloud: BenchCloud;
  tenant: Tenant;
  imageId: string;
  /** host-1's guests: `<state>/agents/host-1/instances/<uuid>/`. */
  instancesDir: string;
  problems: string[];
}

/** One boot through the cloud, in ms from sending POST /servers. */
interface CloudBoot {
  id: string;
  status: string;
  post_ms: number;
  active_ms: number | null;
  /** The marker in the guest's console.log on the host (what QEMU wrote). */
  marker_file_ms: number | null;
  /** The marker in os-getConsoleOutput (what a user sees; the agent publishes every ~3 s). */
  marker_api_ms: number | null;
  /** DELETE sent → GET answers 404. */
  delete_ms: number | null;
}

/**
 * Benchmark 5: the test guest (test/guest/) on one host with the QEMU driver. Boot through the
 * control plane next to the same QEMU command launched directly, alternating; then 10 parallel
 * boots; the agent's RSS with those 10 running.
 */
export const realGuests: Benchmark = {
  name: 'real-guests',
  unavailable: () => (qemuInstalled() ? undefined : 'qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86 qemu-utils genisoimage)'),
  async run(): Promise<BenchResult> {
    const started = Date.now();
    const guestImage = await ensureTestGuest();
    const cloud = await startCloud(shape);
    const problems: string[] = [];
    try {
      const agentPid = childProcesses(cloud.info.pid, 'host-agent/host-agent.mjs')[0];
      if (!agentPid) throw new Error(`no host-agent/host-agent.mjs child of pid ${cloud.info.pid}`);
      const agentIdle = processMemory(agentPid);
      const imageId = await uploadTestGuest(cloud, guestImage, 'bench-test-guest');
      const [tenant] = await createTenants(cloud.client, cloud.adminToken, 'bench-real', 1);
      const ctx: Context = { cloud, tenant, imageId, instancesDir: join(cloud.stateDir, 'agents', 'host-1', 'instances'), problems };

      const single = await singleBoots(ctx);
      const parallel = await parallelBoots(ctx, agentPid);
      const leftovers = guestQemus(`${cloud.stateDir}/`);
      if (leftovers.length > 0) problems.push(`${leftovers.length} guest QEMU(s) still running after every server was deleted: ${leftovers.map((g) => g.instanceId).join(', ')}`);

      const s = single.summary;
      const m = parallel.memory;
      return {
        name: 'real-guests',
        title: `5. real guests (QEMU driver, ${single.virt_type === 'kvm' ? 'KVM' : 'TCG'}): boot through the cloud vs direct, 10 parallel boots, agent RSS`,
        cloud: { ...shape, boot_seconds: cloud.bootSeconds },
        method: [
          `the test guest (test/guest/, ${BOOT_MARKER} on its serial console when its /init starts) uploaded as a public qcow2 image; m1.tiny (1 vCPU, 512 MB, 1 GB); one host-agent with the qemu driver, cpu_allocation_ratio ${shape.cpuAllocationRatio}`,
          `single boots: 1 unmeasured warm-up through the cloud (fills the agent's image cache, and gives the spec and cached image the direct launch reuses), then ${ROUNDS} rounds of (a) then (b)`,
          `(a) POST /servers → ACTIVE (GET every ${STATUS_POLL_MS} ms) and → ${BOOT_MARKER} in <state>/agents/host-1/instances/<uuid>/console.log (read every ${FILE_POLL_MS} ms) and in os-getConsoleOutput (every ${CONSOLE_API_POLL_MS} ms once ACTIVE); then DELETE → 404`,
          `(b) without the cloud: qcow2 overlay on the agent's cached image, config drive (host-agent/config-drive), QEMU with qemuArgs() of host-agent/drivers/qemu/qemu-process.ts (the driver's command line; checked equal to the warm-up guest's /proc cmdline), timed from the overlay to ${BOOT_MARKER} in its console file (every ${FILE_POLL_MS} ms); then SIGKILL`,
          'overhead = median (a) POST→marker (console file) − median (b) overlay→marker; ratio = the same two medians divided',
          `parallel: ${PARALLEL} POST /servers at once from one project; admin GET /servers/detail?all_tenants=1 every 250 ms and the console files every 250 ms until all ACTIVE and all markers; then all deleted at once`,
          `memory: VmRSS of the host-1 agent process (host-agent/host-agent.mjs; not QEMU) right after start, and ${SETTLE_MS / 1000} s after the ${PARALLEL}th marker; the guests' QEMU RSS summed apart (information: TCG guests touch only part of their 512 MB)`,
        ],
        metrics: { virt_type: single.virt_type, single_boots: single.metrics, parallel_boots: parallel.metrics, memory: { agent_idle: agentIdle, ...m } },
        summary: [
          `single boot, medians of ${ROUNDS}: POST→ACTIVE ${sec(s.active)}, POST→marker ${sec(s.markerFile)} (os-getConsoleOutput shows it at ${sec(s.markerApi)}); direct launch→marker ${sec(s.directMarker)} (QEMU up at ${sec(s.directLaunched)})`,
          `  overhead of the cloud to the marker: ${signedSec(s.markerFile - s.directMarker)} (×${(s.markerFile / s.directMarker).toFixed(2)}); POST→ACTIVE vs direct QEMU up: ${signedSec(s.active - s.directLaunched)}; DELETE→404 ${sec(s.delete)}`,
          parallel.metrics.all_active_s === null
            ? `${PARALLEL} parallel boots: not all ACTIVE (${JSON.stringify(parallel.metrics.final_status)})`
            : `${PARALLEL} parallel boots: all ACTIVE after ${parallel.metrics.all_active_s.toFixed(1)} s, all ${BOOT_MARKER} after ${parallel.metrics.all_markers_s?.toFixed(1) ?? '—'} s; all deleted (404) ${parallel.metrics.all_deleted_s?.toFixed(1) ?? '—'} s after the DELETEs`,
          m
            ? `agent RSS ${agentIdle.rss_mb} MB with no guest → ${m.agent_with_guests.rss_mb} MB with ${m.guests_running} guests running (peak ${m.agent_with_guests.peak_rss_mb} MB); their QEMUs: ${m.qemu_rss_mb.total} MB in all (${m.qemu_rss_mb.min}..${m.qemu_rss_mb.max} MB each)`
            : 'agent RSS with guests: not measured (the parallel boots did not all come up)',
        ],
        problems,
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      await cloud.stop();
    }
  },
};

const sec = (msValue: number) => (Number.isFinite(msValue) ? `${(msValue / 1000).toFixed(2)} s` : '—');
const signedSec = (msValue: number) => (msValue >= 0 ? `+${sec(msValue)}` : sec(msValue));
const median = (values: (number | null)[]) => summarize(values.filter((v): v is number => v !== null)).p50;

async function singleBoots(ctx: Context) {
  const warmup = await bootThroughCloud(ctx, 'real-warmup', async (id) => ({ direct: await directGuestOf(ctx, id) }));
  const { direct } = warmup.captured;
  const cloudBoots: CloudBoot[] = [];
  const directBoots: DirectBoot[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    cloudBoots.push((await bootThroughCloud(ctx, `real-${round}`)).boot);
    const boot = await bootDirect(direct, join(ctx.cloud.stateDir, 'direct'), BOOT_TIMEOUT_MS);
    if (boot.marker_ms === null) ctx.problems.push(`direct launch ${boot.instance_id}: no ${BOOT_MARKER} within ${BOOT_TIMEOUT_MS / 1000} s`);
    directBoots.push(boot);
  }
  for (const b of cloudBoots) {
    if (b.status !== 'ACTIVE') ctx.problems.push(`server ${b.id} ended ${b.status}`);
    else if (b.marker_file_ms === null) ctx.problems.push(`server ${b.id}: no ${BOOT_MARKER} in its console.log within ${BOOT_TIMEOUT_MS / 1000} s`);
    else if (b.marker_api_ms === null) ctx.problems.push(`server ${b.id}: ${BOOT_MARKER} never appeared in os-getConsoleOutput`);
  }
  const summary = {
    active: median(cloudBoots.map((b) => b.active_ms)),
    markerFile: median(cloudBoots.map((b) => b.marker_file_ms)),
    markerApi: median(cloudBoots.map((b) => b.marker_api_ms)),
    delete: median(cloudBoots.map((b) => b.delete_ms)),
    directMarker: median(directBoots.map((b) => b.marker_ms)),
    directLaunched: median(directBoots.map((b) => b.launched_ms)),
  };
  const r = (x: number) => Math.round(x);
  return {
    virt_type: direct.virtType,
    summary,
    metrics: {
      rounds: ROUNDS,
      median_ms: Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, r(v)])),
      marker_overhead_ms: r(summary.markerFile - summary.directMarker),
      marker_ratio: Math.round((summary.markerFile / summary.directMarker) * 100) / 100,
      active_vs_direct_launched_overhead_ms: r(summary.active - summary.directLaunched),
      through_cloud: cloudBoots.map((b) => roundAll(b)),
      direct: directBoots.map((b) => roundAll(b)),
      warmup: roundAll(warmup.boot),
      driver_command_line: direct.commandLine,
    },
  };
}

function roundAll<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v) : v])) as T;
}

/**
 * POST one server and watch it: its status, its console file, its os-getConsoleOutput. `capture`
 * runs once the marker is there, before the DELETE (to look at the running guest).
 */
async function bootThroughCloud<T = undefined>(ctx: Context, name: string, capture?: (id: string) => Promise<T>) {
  const { client } = ctx.cloud;
  const { token } = ctx.tenant;
  const t0 = performance.now();
  const created = await client.expect(202, 'POST', '/compute/v2.1/servers', { token, body: serverBody(name, ctx.imageId) });
  const id: string = created.body.server.id;
  const consoleFile = join(ctx.instancesDir, id, 'console.log');
  const boot: CloudBoot = { id, status: 'BUILD', post_ms: created.ms, active_ms: null, marker_file_ms: null, marker_api_ms: null, delete_ms: null };
  const deadline = t0 + BOOT_TIMEOUT_MS;
  const running = () => performance.now() < deadline && (boot.status === 'BUILD' || boot.status === 'ACTIVE');

  const watchStatus = async () => {
    while (boot.status === 'BUILD' && performance.now() < deadline) {
      await sleep(STATUS_POLL_MS);
      boot.status = (await client.expect(200, 'GET', `/compute/v2.1/servers/${id}`, { token })).body.server.status;
      if (boot.status === 'ACTIVE') boot.active_ms = performance.now() - t0;
    }
  };
  const watchFile = async () => {
    while (boot.marker_file_ms === null && running()) {
      if (await consoleHasMarker(consoleFile)) boot.marker_file_ms = performance.now() - t0;
      else await sleep(FILE_POLL_MS);
    }
  };
  const watchApi = async () => {
    while (boot.marker_api_ms === null && running()) {
      await sleep(CONSOLE_API_POLL_MS);
      if (boot.status !== 'ACTIVE') continue;
      const out = await client.call('POST', `/compute/v2.1/servers/${id}/action`, { token, body: { 'os-getConsoleOutput': { length: 50 } } });
      if (out.status === 200 && String(out.body.output).includes(BOOT_MARKER)) boot.marker_api_ms = performance.now() - t0;
    }
  };
  await Promise.all([watchStatus(), watchFile(), watchApi()]);
  const captured = (boot.marker_file_ms !== null && capture ? await capture(id) : undefined) as T;
  if (capture && captured === undefined) throw new Error(`the warm-up server ${id} did not boot (${boot.status}); see ${ctx.cloud.stateDir}/logs/host-1.log`);
  boot.delete_ms = await deleteServers(ctx, [id]);
  return { boot, captured };
}

/**
 * What the direct launch needs, taken from the running warm-up guest: its spec.json, the cached
 * image behind its overlay, and its virt type, after checking that its QEMU's command line is
 * exactly qemuArgs() for it (so (b) runs what the driver runs).
 */
async function directGuestOf(ctx: Context, id: string): Promise<DirectGuest & { commandLine: string[] }> {
  const paths = instancePaths(ctx.instancesDir, id);
  const spec = GuestSpecSchema.parse(JSON.parse(await readFile(paths.spec, 'utf8')));
  const backingImage = (await imageInfo(paths.disk, 'qcow2', { shared: true })).backingFile;
  if (!backingImage) throw new Error(`the overlay ${paths.disk} has no backing file`);
  const [qemu] = guestQemus(id);
  if (!qemu) throw new Error(`no QEMU process for guest ${id}`);
  const actual = commandLine(qemu.pid);
  const virtType = actual[actual.indexOf('-accel') + 1] === 'kvm' ? 'kvm' : 'qemu';
  const expected = qemuArgs({ instanceId: id, paths, vcpus: spec.flavor.vcpus, memoryMb: spec.flavor.ram, virtType });
  if (JSON.stringify(actual.slice(1)) !== JSON.stringify(expected)) {
    ctx.problems.push(`the driver's QEMU command line differs from qemuArgs(): the direct launch may not be the same: ${actual.join(' ')}`);
  }
  return { spec, backingImage, virtType, commandLine: actual };
}

/** DELETE each, then wait until every GET answers 404 and no QEMU of theirs is left; ms from the first DELETE, or null on timeout. */
async function deleteServers(ctx: Context, ids: string[]): Promise<number | null> {
  const { client } = ctx.cloud;
  const { token } = ctx.tenant;
  const t0 = performance.now();
  await Promise.all(ids.map((id) => client.expect(204, 'DELETE', `/compute/v2.1/servers/${id}`, { token })));
  const pending = new Set(ids);
  while (pending.size > 0 && performance.now() - t0 < 60_000) {
    await sleep(STATUS_POLL_MS);
    const gone = await Promise.all([...pending].map(async (id) => ((await client.call('GET', `/compute/v2.1/servers/${id}`, { token })).status === 404 ? id : undefined)));
    for (const id of gone) if (id) pending.delete(id);
  }
  const deletedMs = pending.size === 0 ? performance.now() - t0 : null;
  if (pending.size > 0) ctx.problems.push(`${pending.size} server(s) not deleted 60 s after DELETE: ${[...pending].join(', ')}`);
  for (const id of ids) {
    for (let t = 0; guestQemus(id).length > 0 && t < 100; t++) await sleep(100);
    if (guestQemus(id).length > 0) ctx.problems.push(`server ${id} is deleted but its QEMU still runs`);
  }
  return deletedMs;
}

async function parallelBoots(ctx: Context, agentPid: number) {
  const { client, adminToken } = ctx.cloud;
  const hypervisor = await hypervisorOf(ctx);
  const fits = hypervisor.memory_mb >= PARALLEL * TINY.ram && hypervisor.vcpus * shape.cpuAllocationRatio! >= PARALLEL * TINY.vcpus;
  const inventory = { vcpus: hypervisor.vcpus, memory_mb: hypervisor.memory_mb, local_gb: hypervisor.local_gb };
  if (!fits) {
    ctx.problems.push(`${PARALLEL} m1.tiny do not fit on this host (${JSON.stringify(inventory)}): parallel boots skipped`);
    return { metrics: { skipped: true, inventory, all_active_s: null, all_markers_s: null, all_deleted_s: null, final_status: {} }, memory: undefined };
  }

  const t0 = performance.now();
  const posts = await Promise.all(
    Array.from({ length: PARALLEL }, (_, k) => client.expect(202, 'POST', '/compute/v2.1/servers', { token: ctx.tenant.token, body: serverBody(`real-par-${k + 1}`, ctx.imageId) })),
  );
  const ids = posts.map((p) => p.body.server.id as string);
  const activeAt = new Map<string, number>();
  const markerAt = new Map<string, number>();
  const status = new Map(ids.map((id) => [id, 'BUILD']));
  while (performance.now() - t0 < PARALLEL_TIMEOUT_MS) {
    const list = await client.expect(200, 'GET', '/compute/v2.1/servers/detail?all_tenants=1', { token: adminToken });
    const now = performance.now() - t0;
    for (const s of list.body.servers as { id: string; status: string }[]) {
      if (!status.has(s.id)) continue;
      status.set(s.id, s.status);
      if (s.status === 'ACTIVE' && !activeAt.has(s.id)) activeAt.set(s.id, now);
    }
    for (const id of ids) if (!markerAt.has(id) && (await consoleHasMarker(join(ctx.instancesDir, id, 'console.log')))) markerAt.set(id, performance.now() - t0);
    const failed = [...status.values()].some((s) => s !== 'BUILD' && s !== 'ACTIVE');
    if (failed || (activeAt.size === PARALLEL && markerAt.size === PARALLEL)) break;
    await sleep(250);
  }
  const finalStatus: Record<string, number> = {};
  for (const s of status.values()) finalStatus[s] = (finalStatus[s] ?? 0) + 1;
  for (const [s, n] of Object.entries(finalStatus)) if (s !== 'ACTIVE') ctx.problems.push(`parallel boots: ${n} server(s) ended ${s}`);
  if (markerAt.size < PARALLEL) ctx.problems.push(`parallel boots: only ${markerAt.size} of ${PARALLEL} guests printed ${BOOT_MARKER}`);

  const claims = await hypervisorOf(ctx);
  if (claims.running_vms !== activeAt.size || claims.memory_mb_used !== activeAt.size * TINY.ram) {
    ctx.problems.push(`host-1 claims ${claims.running_vms} VMs / ${claims.memory_mb_used} MB with ${activeAt.size} ACTIVE m1.tiny`);
  }

  let memory;
  if (markerAt.size === PARALLEL) {
    await sleep(SETTLE_MS);
    const qemus = guestQemus(`${ctx.instancesDir}/`).map((g) => processMemory(g.pid).rss_mb);
    memory = {
      agent_with_guests: processMemory(agentPid),
      guests_running: qemus.length,
      qemu_rss_mb: { total: Math.round(qemus.reduce((a, b) => a + b, 0)), min: Math.min(...qemus), max: Math.max(...qemus) },
    };
    if (qemus.length !== PARALLEL) ctx.problems.push(`${qemus.length} guest QEMUs running, expected ${PARALLEL}`);
  }

  const deletedMs = await deleteServers(ctx, ids);
  const seconds = (v: number) => Math.round(v) / 1000;
  return {
    metrics: {
      servers: PARALLEL,
      inventory,
      claims_when_up: { vcpus_used: claims.vcpus_used, memory_mb_used: claims.memory_mb_used, running_vms: claims.running_vms },
      post_latency_ms: summarize(posts.map((p) => p.ms)),
      all_active_s: activeAt.size === PARALLEL ? seconds(Math.max(...activeAt.values())) : null,
      all_markers_s: markerAt.size === PARALLEL ? seconds(Math.max(...markerAt.values())) : null,
      post_to_active_ms: summarize([...activeAt.values()]),
      post_to_marker_ms: summarize([...markerAt.values()]),
      all_deleted_s: deletedMs === null ? null : seconds(deletedMs),
      final_status: finalStatus,
    },
    memory,
  };
}

interface Hypervisor {
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  vcpus_used: number;
  memory_mb_used: number;
  running_vms: number;
}

async function hypervisorOf(ctx: Context): Promise<Hypervisor> {
  const out = await ctx.cloud.client.expect(200, 'GET', '/compute/v2.1/os-hypervisors/detail', { token: ctx.cloud.adminToken });
  return (out.body.hypervisors as Hypervisor[])[0];
}
