import { randomUUID } from 'node:crypto';
import { InstanceSchema, type Instance } from '../../shared/domain/instance.js';
import { VmState } from '../../shared/domain/instance-states.js';
import { handlerEnvironment, type CloudInfo } from '../../infra/local/state-dir.js';
import { createTenants, sleep, TINY, type Tenant } from '../client.js';
import { onOwnCloud, type BenchCloud } from '../local-cloud.js';
import { processCpuMs } from '../process-memory.js';
import type { Benchmark, BenchResult } from '../result.js';
import { ms, summarize, type Summary } from '../stats.js';

const SIZES = [100, 1000] as const;
const SAMPLES = 20;
const WARMUP = 3;
/** Items per TransactWriteItems: DynamoDB allows 100, one of which is the quota update. */
const WRITE_BATCH = 50;
const shape = { hosts: 1 };

/**
 * Benchmark 3: `GET /servers/detail` (and `GET /servers`) as one project's member, with 100
 * and with 1000 servers in that project. The 10-instance quota stops 1000 creates through the
 * API, so the records are written straight into the table with the store's own
 * createInstances (limits raised), in the shape an ACTIVE server has.
 */
export const listServers: Benchmark = {
  name: 'list-servers',
  run: () => onOwnCloud(shape, measure),
};

async function measure(cloud: BenchCloud, started: number): Promise<BenchResult> {
  const [tenant] = await createTenants(cloud.client, cloud.adminToken, 'bench-list', 1);
  const createInstances = await storeWriter(cloud.info);
  const bySize: Record<string, { detail_ms: Summary; list_ms: Summary; detail_cpu_ms_per_call: number; list_cpu_ms_per_call: number; detail_bytes: number; returned: number }> = {};
  let written = 0;
  for (const size of SIZES) {
    while (written < size) {
      const batch = Array.from({ length: Math.min(WRITE_BATCH, size - written) }, (_, k) => activeInstance(tenant, written + k));
      await createInstances(batch, { instances: 100_000, cores: 100_000, ram: 100_000_000 });
      written += batch.length;
    }
    await sleep(500);
    const detail = await sample(cloud, tenant, '/compute/v2.1/servers/detail');
    const list = await sample(cloud, tenant, '/compute/v2.1/servers');
    bySize[size] = {
      detail_ms: detail.timing,
      list_ms: list.timing,
      detail_cpu_ms_per_call: detail.cpuPerCall,
      list_cpu_ms_per_call: list.cpuPerCall,
      detail_bytes: detail.bytes,
      returned: detail.returned,
    };
  }
  const problems = SIZES.filter((s) => bySize[s].returned !== s).map((s) => `GET /servers/detail returned ${bySize[s].returned} of ${s} servers`);
  const [small, large] = SIZES.map((s) => bySize[s]);
  const ratio = Math.round((large.detail_ms.p50 / small.detail_ms.p50) * 10) / 10;
  const cpuRatio = Math.round((large.detail_cpu_ms_per_call / Math.max(1, small.detail_cpu_ms_per_call)) * 10) / 10;
  return {
    name: 'list-servers',
    title: '3. GET /servers/detail with 100 and 1000 servers',
    cloud: { ...shape, boot_seconds: cloud.bootSeconds },
    method: [
      'one project, its member user\'s token; no all_tenants',
      `servers written directly into the table with shared/store/instances.ts#createInstances (quota limits raised, ${WRITE_BATCH} per transaction), as ACTIVE m1.tiny servers on host-1 with one fixed address; the API quota (10 instances) forbids 1000 through POST`,
      `per size: ${WARMUP} unmeasured calls, then ${SAMPLES} sequential calls; p50/p95 of the wall time (request sent → body read)`,
      'cpu_ms_per_call: CPU time (user+system, /proc/<pid>/stat) the control-plane process spent over the sampled calls, divided by their number; steadier than wall time on a shared machine',
      'no limit given, so Nova\'s max_limit (1000) applies and every server comes back in one page',
    ],
    metrics: { servers_written: 'directly with createInstances', by_size: bySize, detail_p50_ratio_1000_vs_100: ratio, detail_cpu_ratio_1000_vs_100: cpuRatio },
    summary: [
      ...SIZES.map((s) => `${String(s).padStart(4)} servers: /servers/detail p50 ${ms(bySize[s].detail_ms.p50)} p95 ${ms(bySize[s].detail_ms.p95)} (${Math.round(bySize[s].detail_bytes / 1024)} KiB, ${bySize[s].detail_cpu_ms_per_call} ms CPU); /servers p50 ${ms(bySize[s].list_ms.p50)}`),
      `1000 vs 100 servers: detail p50 ×${ratio}, control-plane CPU per call ×${cpuRatio} (linear would be ×10)`,
    ],
    problems,
    seconds: (Date.now() - started) / 1000,
  };
}

async function sample(cloud: BenchCloud, tenant: Tenant, path: string) {
  const times: number[] = [];
  let bytes = 0;
  let returned = 0;
  let cpuBefore = 0;
  for (let k = 0; k < WARMUP + SAMPLES; k++) {
    if (k === WARMUP) cpuBefore = processCpuMs(cloud.info.pid);
    const out = await cloud.client.expect(200, 'GET', path, { token: tenant.token });
    if (k < WARMUP) continue;
    times.push(out.ms);
    bytes = JSON.stringify(out.body).length;
    returned = out.body.servers.length;
  }
  const cpuPerCall = Math.round((processCpuMs(cloud.info.pid) - cpuBefore) / SAMPLES);
  return { timing: summarize(times), cpuPerCall, bytes, returned };
}

/**
 * The store's createInstances, pointed at this cloud's emulators (handlerEnvironment, as
 * test/support/cloud.ts does). The SDK clients and config are created once per process, at first
 * use: only one benchmark in a run may use this.
 */
async function storeWriter(info: CloudInfo) {
  Object.assign(process.env, handlerEnvironment(info));
  const { createInstances } = await import('../../shared/store/instances.js');
  return createInstances;
}

const imageRef = randomUUID();

/** An ACTIVE server as the conductor leaves it (schema defaults for everything not set here). */
function activeInstance(tenant: Tenant, n: number): Instance {
  const now = new Date(Date.now() + n).toISOString();
  const id = randomUUID();
  const name = `list-${n + 1}`;
  return InstanceSchema.parse({
    id,
    name,
    hostname: name,
    project_id: tenant.projectId,
    user_id: tenant.userId,
    image_ref: imageRef,
    image_meta: { id: imageRef, disk_format: 'raw', size: 1024 * 1024, os_hash_algo: null, os_hash_value: null },
    flavor: { id: TINY.id, name: 'm1.tiny', vcpus: TINY.vcpus, ram: TINY.ram, disk: TINY.disk, ephemeral: 0, swap: 0, extra_specs: {} },
    key_name: null,
    key_data: null,
    metadata: {},
    user_data: null,
    config_drive: false,
    availability_zone: null,
    requested_networks: 'auto',
    addresses: { shared: [{ addr: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, version: 4, type: 'fixed', mac_addr: 'fa:16:3e:00:00:01' }] },
    vm_state: VmState.ACTIVE,
    task_state: null,
    power_state: 1,
    host: 'host-1',
    claimed_host: null,
    launch_index: 0,
    reservation_id: `r-bench${n}`,
    locked: false,
    fault: null,
    attempted_hosts: [],
    task_deadline: null,
    version: 1,
    created_at: now,
    updated_at: now,
    launched_at: now,
  });
}
