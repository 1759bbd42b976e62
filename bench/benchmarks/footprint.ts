import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_BUNDLE } from '../../host-agent/build/build-agent.js';
import { freePort } from '../../infra/local/emulators.js';
import { stopProcess, waitForCloudInfo } from '../../infra/local/launch.js';
import { repoRoot } from '../../infra/local/state-dir.js';
import { sleep } from '../client.js';
import { processMemory, processTree } from '../process-memory.js';
import type { Benchmark, BenchResult } from '../result.js';

const IDLE_MS = 30_000;

/**
 * Benchmark 18: what `npm start` costs a machine once it is up (one host, fake driver): every
 * process of its tree and their RSS summed, the npm process included, after IDLE_MS idle; and
 * the host agent's idle RSS as the artifact runs it (`node dist/host-agent/host-agent.mjs`)
 * against the same agent run from the checkout through tsx, both started side by side against
 * that cloud and measured at the same moment.
 */
export const footprint: Benchmark = {
  name: 'footprint',
  async run(): Promise<BenchResult> {
    const started = Date.now();
    const baseDir = mkdtempSync(join(tmpdir(), 'novaless-bench-footprint-'));
    const stateDir = join(baseDir, 'state');
    const logFile = join(baseDir, 'start.log');
    const port = await freePort();
    // `npm start` itself, as a newcomer runs it: the npm process is part of the footprint.
    const npm = spawn('npm', ['start', '--', '--fresh', '--driver', 'fake', '--port', String(port)], {
      cwd: repoRoot,
      env: { ...process.env, NOVALESS_STATE_DIR: stateDir, LOG_LEVEL: 'WARN' },
      stdio: ['ignore', 'ignore', 'ignore'],
      detached: true,
    });
    const extraAgents: ChildProcess[] = [];
    try {
      const info = await waitForCloudInfo(npm, { stateDir, logFile: '/dev/null' }, Date.now() + 120_000);
      const agentEnv = await agentEnvironment(info.pid);
      const agentArgs = (host: string) => ['run', '--host', host, '--driver', 'fake', '--state-dir', join(baseDir, host), '--conductor-queue-url', info.conductorQueueUrl];
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...agentEnv };
      extraAgents.push(
        spawn(process.execPath, [AGENT_BUNDLE, ...agentArgs('bench-artifact')], { env, stdio: 'ignore' }),
        spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'host-agent', 'cli.ts'), ...agentArgs('bench-tsx')], { cwd: repoRoot, env, stdio: 'ignore' }),
      );
      await sleep(IDLE_MS);
      const tree = processTree(npm.pid!).filter((p) => !extraAgents.some((a) => a.pid === p.pid));
      const artifactAgent = processMemory(extraAgents[0].pid!);
      const tsxAgent = processMemory(extraAgents[1].pid!);
      const total = Math.round(tree.reduce((sum, p) => sum + p.rss_mb, 0) * 10) / 10;
      const loaders = tree.filter((p) => /\btsx\b/.test(p.command));
      const problems = [
        ...(loaders.length > 0 ? [`a tsx loader or wrapper runs in the local cloud: ${loaders.map((p) => p.command).join('; ')}`] : []),
        ...(tree.some((p) => /^(sh|bash) -c/.test(p.command)) ? ['a shell wrapper stays between npm and the local cloud'] : []),
      ];
      return {
        name: 'footprint',
        title: '18. What npm start costs once up, and the agent artifact against the agent through tsx',
        cloud: { hosts: 1, driver: 'fake', boot_seconds: (Date.now() - started - IDLE_MS) / 1000 },
        method: [
          `npm start -- --fresh --driver fake (one host), run as a newcomer runs it; ${IDLE_MS / 1000} s after cloud.json appeared, VmRSS of every process in the tree of the npm process (npm included), from /proc`,
          `agents: two more fake-driver agents against the same cloud, started together: the artifact (node dist/host-agent/host-agent.mjs) and the checkout through tsx (node --import tsx host-agent/cli.ts); VmRSS of each at the same moment, ${IDLE_MS / 1000} s after their start`,
          `node ${process.version}`,
        ],
        metrics: {
          local_cloud: { total_rss_mb: total, processes: tree },
          agent_idle_rss_mb: { artifact: artifactAgent.rss_mb, tsx: tsxAgent.rss_mb, ratio_artifact_vs_tsx: Math.round((artifactAgent.rss_mb / tsxAgent.rss_mb) * 100) / 100 },
          node: process.version,
        },
        summary: [
          `npm start, one fake host, idle: ${total} MB of RSS in ${tree.length} processes (${tree.map((p) => `${p.command.split(' ').slice(0, 2).join(' ')} ${p.rss_mb}`).join(', ')})`,
          `host agent idle RSS: artifact ${artifactAgent.rss_mb} MB, through tsx ${tsxAgent.rss_mb} MB (×${(artifactAgent.rss_mb / tsxAgent.rss_mb).toFixed(2)})`,
        ],
        problems,
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      await Promise.all(extraAgents.map((a) => stopProcess(a, 20_000)));
      // npm forwards SIGTERM to the cloud, which stops its agents and emulators.
      await stopProcess(npm, 40_000);
      rmSync(baseDir, { recursive: true, force: true });
    }
  },
};

/** The agents' AWS settings, as the cloud hands them to its own agent (SQS and S3 endpoints, never DynamoDB); cloud.json is written before the agent starts. */
async function agentEnvironment(cloudPid: number): Promise<Record<string, string>> {
  const deadline = Date.now() + 60_000;
  let agent = processTree(cloudPid).find((p) => p.command.includes('host-agent.mjs run'));
  while (!agent && Date.now() < deadline) {
    await sleep(250);
    agent = processTree(cloudPid).find((p) => p.command.includes('host-agent.mjs run'));
  }
  if (!agent) throw new Error(`no host agent under the cloud's process ${cloudPid}`);
  const environ = readFileSync(`/proc/${agent.pid}/environ`, 'utf8').split('\0');
  return Object.fromEntries(environ.filter((kv) => kv.startsWith('AWS_')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}
