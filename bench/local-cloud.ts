import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../infra/local/emulators.js';
import { launchCloud, stopProcess, waitForCloudInfo } from '../infra/local/launch.js';
import type { CloudInfo } from '../infra/local/state-dir.js';
import { ApiClient, sleep } from './client.js';
import { killGuestQemus } from './guest-processes.js';

export interface CloudShape {
  hosts: number;
  hostVcpus?: number;
  hostMemoryMb?: number;
  hostDiskGb?: number;
  /** The agents' driver (fake unless said). With qemu the host reports its real inventory. */
  driver?: 'fake' | 'qemu';
  /** The agents' cpu_allocation_ratio (the cloud's default is 4.0). */
  cpuAllocationRatio?: number;
}

/** One local cloud started for one benchmark: `infra/local/start.ts --fresh` as a child process, its own state dir and port. */
export interface BenchCloud {
  info: CloudInfo;
  stateDir: string;
  logFile: string;
  shape: CloudShape;
  client: ApiClient;
  adminToken: string;
  /** Seconds from spawn to every host agent registered. */
  bootSeconds: number;
  stop(): Promise<void>;
}

const running = new Set<BenchCloud>();

/** Stops every cloud still running (on Ctrl-C or a failed benchmark). */
export async function stopAllClouds(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()));
}

export async function startCloud(shape: CloudShape): Promise<BenchCloud> {
  const started = Date.now();
  // start.ts --fresh empties its state dir: the log lives beside it, so a failed start can be read.
  const baseDir = mkdtempSync(join(tmpdir(), 'novaless-bench-'));
  // Searchable by others, as the state dir start.ts makes: the guests' dnsmasq runs as nobody.
  chmodSync(baseDir, 0o755);
  const stateDir = join(baseDir, 'state');
  const logFile = join(baseDir, 'start.log');
  const port = await freePort();
  const args = ['--fresh', '--port', String(port), '--hosts', String(shape.hosts)];
  if (shape.hostVcpus) args.push('--host-vcpus', String(shape.hostVcpus));
  if (shape.hostMemoryMb) args.push('--host-memory-mb', String(shape.hostMemoryMb));
  if (shape.hostDiskGb) args.push('--host-disk-gb', String(shape.hostDiskGb));
  args.push('--driver', shape.driver ?? 'fake');
  if (shape.cpuAllocationRatio) args.push('--cpu-allocation-ratio', String(shape.cpuAllocationRatio));
  // NOVALESS_BENCH_PROFILE=<dir>: a V8 CPU profile of the control-plane process, written when it stops.
  const nodeOptions = process.env.NOVALESS_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.NOVALESS_BENCH_PROFILE] : [];
  const child = launchCloud({ stateDir, logFile, args, env: { LOG_LEVEL: 'WARN' }, nodeOptions });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      running.delete(cloud);
      await stopProcess(child, 40_000);
      // Guests outlive their agent by design: a benchmark's cloud must not leave any behind.
      const leftovers = await killGuestQemus(`${stateDir}/`);
      if (leftovers > 0) process.stderr.write(`bench: killed ${leftovers} guest QEMU(s) left running under ${stateDir}\n`);
      if (!process.env.NOVALESS_KEEP_BENCH_STATE) rmSync(baseDir, { recursive: true, force: true });
    })());
  const cloud: BenchCloud = { info: undefined as never, stateDir, logFile, shape, client: undefined as never, adminToken: '', bootSeconds: 0, stop };
  running.add(cloud);

  try {
    const deadline = Date.now() + 90_000;
    cloud.info = await waitForCloudInfo(child, { stateDir, logFile }, deadline);
    cloud.client = new ApiClient(cloud.info.apiUrl);
    cloud.adminToken = await cloud.client.issueToken({ username: 'admin', password: cloud.info.adminPassword, project: 'admin' });
    await waitForHosts(cloud, deadline);
    cloud.bootSeconds = (Date.now() - started) / 1000;
    return cloud;
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs a benchmark's measurement on a cloud of its own, stopped afterwards whatever happens;
 * `started` (for BenchResult.seconds) includes the cloud's boot.
 */
export async function onOwnCloud<T>(shape: CloudShape, measure: (cloud: BenchCloud, started: number) => Promise<T>): Promise<T> {
  const started = Date.now();
  const cloud = await startCloud(shape);
  try {
    return await measure(cloud, started);
  } finally {
    await cloud.stop();
  }
}

/** start.ts writes cloud.json before its agents register: wait until every hypervisor is up. */
async function waitForHosts(cloud: BenchCloud, deadline: number): Promise<void> {
  for (;;) {
    const out = await cloud.client.call('GET', '/compute/v2.1/os-hypervisors/detail', { token: cloud.adminToken });
    const up = out.status === 200 ? (out.body.hypervisors as { state: string; status: string }[]).filter((h) => h.state === 'up' && h.status === 'enabled').length : 0;
    if (up >= cloud.shape.hosts) return;
    if (Date.now() > deadline) throw new Error(`only ${up} of ${cloud.shape.hosts} hosts registered in time (log: ${cloud.logFile})`);
    await sleep(250);
  }
}
