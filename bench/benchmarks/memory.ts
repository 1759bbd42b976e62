import { readFileSync } from 'node:fs';
import { LOAD_SERVERS, loadShape, runCreateLoad } from '../create-load.js';
import { sleep } from '../client.js';
import { onOwnCloud, type BenchCloud } from '../local-cloud.js';
import { childProcesses, processMemory, type ProcessMemory } from '../process-memory.js';
import type { Benchmark, BenchResult } from '../result.js';

const SETTLE_MS = 3000;

interface Snapshot {
  control_plane: ProcessMemory;
  /** The agent of host-1 (the first one started). */
  agent: ProcessMemory;
  agents_rss_mb: { count: number; min: number; max: number; total: number };
  dynamodb_emulator?: ProcessMemory;
}

/**
 * Benchmark 4: resident memory of the control-plane process (start.ts: API server, queue
 * pollers, handlers, in-process SQS and S3 emulators) and of the host agents, idle and after
 * the 200-create load of benchmark 2.
 */
export const memory: Benchmark = {
  name: 'memory',
  run: () =>
    onOwnCloud(loadShape, async (cloud, started): Promise<BenchResult> => {
      await sleep(SETTLE_MS);
      const idle = snapshot(cloud);
      const load = await runCreateLoad(cloud, 'mem');
      const afterLoad = snapshot(cloud);
      await sleep(SETTLE_MS);
      const settled = snapshot(cloud);
      const growth = Math.round((afterLoad.control_plane.rss_mb - idle.control_plane.rss_mb) * 10) / 10;
      return {
        name: 'memory',
        title: '4. RSS of the control plane and a host agent',
        cloud: { ...loadShape, boot_seconds: cloud.bootSeconds },
        method: [
          'VmRSS (and VmHWM, the peak) from /proc/<pid>/status',
          'control plane: the start.ts process (pid in cloud.json): API server, queue pollers, all handlers, and the in-process SQS (local-aws-sqs) and S3 (s3rver) emulators; DynamoDB (dynoxide) is its own process, shown apart',
          'agent: the host-agent/host-agent.mjs child of start.ts running host-1; all agents summarized too',
          `idle: ${SETTLE_MS / 1000} s after every host registered; after load: as soon as the last of ${LOAD_SERVERS} parallel creates (benchmark 2's load) is ACTIVE, and again ${SETTLE_MS / 1000} s later`,
        ],
        metrics: { idle, after_load: afterLoad, after_load_settled: settled, load: { all_active_seconds: load.all_active_seconds, final_status: load.final_status } },
        summary: [
          `control plane RSS  idle ${idle.control_plane.rss_mb} MB → after load ${afterLoad.control_plane.rss_mb} MB (+${growth} MB; peak ${settled.control_plane.peak_rss_mb} MB)`,
          `host agent RSS     idle ${idle.agent.rss_mb} MB → after load ${afterLoad.agent.rss_mb} MB  (all ${idle.agents_rss_mb.count} agents after load: ${afterLoad.agents_rss_mb.min}..${afterLoad.agents_rss_mb.max} MB, ${afterLoad.agents_rss_mb.total} MB in total)`,
          ...(idle.dynamodb_emulator && afterLoad.dynamodb_emulator
            ? [`DynamoDB emulator idle ${idle.dynamodb_emulator.rss_mb} MB → after load ${afterLoad.dynamodb_emulator.rss_mb} MB (not part of the product)`]
            : []),
        ],
        problems: load.problems,
        seconds: (Date.now() - started) / 1000,
      };
    }),
};

function snapshot(cloud: BenchCloud): Snapshot {
  const pid = cloud.info.pid;
  const agents = childProcesses(pid, 'host-agent/host-agent.mjs').map((p) => ({ pid: p, mem: processMemory(p), host1: isHost1(p) }));
  if (agents.length === 0) throw new Error(`no host-agent/host-agent.mjs child of pid ${pid}`);
  const agent = (agents.find((a) => a.host1) ?? agents[0]).mem;
  const rss = agents.map((a) => a.mem.rss_mb);
  const dynoxide = childProcesses(pid, 'dynoxide')[0];
  return {
    control_plane: processMemory(pid),
    agent,
    agents_rss_mb: { count: rss.length, min: Math.min(...rss), max: Math.max(...rss), total: Math.round(rss.reduce((a, b) => a + b, 0)) },
    ...(dynoxide ? { dynamodb_emulator: processMemory(dynoxide) } : {}),
  };
}

function isHost1(pid: number): boolean {
  try {
    return / --host host-1 /.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ') + ' ');
  } catch {
    return false;
  }
}
