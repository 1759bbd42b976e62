import { checkClaims, LOAD_SERVERS, loadShape, runCreateLoad } from '../create-load.js';
import { onOwnCloud } from '../local-cloud.js';
import type { Benchmark, BenchResult } from '../result.js';
import { ms } from '../stats.js';

/** Benchmark 2: 200 creates at once over 20 fake hosts; time to all ACTIVE, POST latency under load, no over-claimed host. */
export const parallelCreates: Benchmark = {
  name: 'parallel-creates',
  run: () =>
    onOwnCloud(loadShape, async (cloud, started): Promise<BenchResult> => {
      const load = await runCreateLoad(cloud, 'par');
      const active = load.final_status.ACTIVE ?? 0;
      const claims = await checkClaims(cloud, active);
      return {
        name: 'parallel-creates',
        title: `2. ${LOAD_SERVERS} parallel creates over ${loadShape.hosts} fake hosts`,
        cloud: { ...loadShape, boot_seconds: cloud.bootSeconds },
        method: [
          `${LOAD_SERVERS} POST /compute/v2.1/servers (m1.tiny) sent at once from ${LOAD_SERVERS / 10} projects, 10 each`,
          `hosts: ${loadShape.hostVcpus} vCPUs (×4.0 = ${loadShape.hostVcpus! * 4}), ${loadShape.hostMemoryMb} MB, ${loadShape.hostDiskGb} GB each: room for ${loadShape.hosts * Math.min(loadShape.hostVcpus! * 4, loadShape.hostMemoryMb! / 512)} m1.tiny`,
          'progress: admin GET /servers/detail?all_tenants=1 every 100 ms; time to all ACTIVE is from the first POST sent to the poll that shows the last one ACTIVE',
          'claims: GET /os-hypervisors/detail afterwards; vcpus_used ≤ vcpus × 4, memory_mb_used ≤ memory_mb, local_gb_used ≤ local_gb on every host, and the sums equal (ACTIVE servers) × m1.tiny',
        ],
        metrics: { servers: LOAD_SERVERS, ...load, claims },
        summary: [
          `all ${LOAD_SERVERS} ACTIVE after ${load.all_active_seconds ?? 'n/a'} s  (per server create→ACTIVE p50 ${ms(load.create_to_active_ms.p50)}, p95 ${ms(load.create_to_active_ms.p95)})`,
          `POST /servers under load  p50 ${ms(load.post_latency_ms.p50)}  p95 ${ms(load.post_latency_ms.p95)}  (${load.post_failures} failed); control-plane CPU ${load.control_plane_cpu_ms_per_server} ms per server`,
          `claims ${claims.ok ? 'consistent' : 'WRONG'}: used ${claims.used.vcpus} vCPU / ${claims.used.memory_mb} MB / ${claims.used.local_gb} GB for ${active} servers; busiest host ${claims.max_vcpus_used} vCPU, ${claims.max_memory_mb_used} MB; ${claims.servers_per_host.min}..${claims.servers_per_host.max} servers per host`,
        ],
        problems: [...load.problems, ...claims.problems],
        seconds: (Date.now() - started) / 1000,
      };
    }),
};
