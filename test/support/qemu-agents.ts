import { execFile, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stopAgent } from '../../infra/local/agents.js';
import { AGENT_BUNDLE } from '../../host-agent/build/build-agent.js';
import type { TopologyHost } from '../../infra/local/network-topology.js';
import { repoRoot } from '../../infra/local/state-dir.js';
import { cloud } from './cloud.js';
import { startCloudAgent } from './test-agents.js';

const run = promisify(execFile);

export interface QemuAgentOptions {
  host: string;
  zone: string;
  /** The test's own directory: the agent's state goes in `agents/<host>`, its log in `logs/<host>.log`. */
  baseDir: string;
  heartbeatSeconds?: number;
  /** The host's namespace on the local cloud's networks (see infra/local/network-topology.ts); none = no guest networking. */
  network?: TopologyHost;
  /** The agent's console proxy port on 127.0.0.1 (verifying with the shared cloud's console key); none = no consoles. */
  consolePort?: number;
}

/** The console proxy's self-signed certificate, made by the agent at its first start. */
export const agentConsoleCert = (o: QemuAgentOptions) => join(agentStateDir(o), 'console', 'tls.crt');

/** The agent's state dir (its guests live in `instances/<uuid>`). */
export const agentStateDir = (o: QemuAgentOptions) => join(o.baseDir, 'agents', o.host);
export const agentLogFile = (o: QemuAgentOptions) => join(o.baseDir, 'logs', `${o.host}.log`);

/**
 * Starts a real host agent with the QEMU driver (TCG: `--virt-type qemu`) as a child process
 * against the shared cloud (see startCloudAgent). The child is the agent's node process itself
 * (no wrapper), so killing its pid kills the agent and nothing else; the guests' QEMUs are
 * daemons and outlive it.
 */
export function startQemuAgent(o: QemuAgentOptions): ChildProcess {
  return startCloudAgent({
    host: o.host,
    driver: 'qemu',
    imageBucket: cloud().imageBucket,
    baseDir: o.baseDir,
    logLevel: 'INFO',
    extraArgs: [
      '--az', o.zone, '--virt-type', 'qemu', '--heartbeat-interval-seconds', String(o.heartbeatSeconds ?? 2),
      ...(o.consolePort
        ? ['--console-public-key-file', cloud().consolePublicKeyFile, '--console-listen-address', '127.0.0.1', '--console-port', String(o.consolePort), '--console-url', `https://127.0.0.1:${o.consolePort}`]
        : []),
      ...(o.network ? ['--netns', o.network.netns, '--tunnel-ip', o.network.tunnelIp, '--underlay-dev', o.network.underlayDev, '--external-bridge', o.network.externalBridge] : []),
    ],
  });
}

/** kill -9 of the agent's node process (checked to be the agent itself, not a wrapper); resolves once it is gone. */
export async function killAgent(agent: ChildProcess): Promise<void> {
  if (agent.exitCode !== null || agent.signalCode !== null) return;
  const cmdline = (await readFile(`/proc/${agent.pid}/cmdline`, 'utf8')).split('\0');
  if (cmdline[0] !== process.execPath || cmdline[1] !== AGENT_BUNDLE) {
    throw new Error(`process ${agent.pid} is not the agent's node process: ${cmdline.join(' ')}`);
  }
  const exited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
  agent.kill('SIGKILL');
  await exited;
}

export { stopAgent };

/**
 * The live `qemu-system-*` processes whose command line carries `guest=<uuid>` (the driver's
 * `-name`), by scanning /proc; zombies are not counted.
 */
export async function qemuPidsOf(instanceId: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    if (!args[0]?.includes('qemu-system') || !args.some((a) => a.startsWith(`guest=${instanceId}`))) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (stat && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

/** SIGKILLs whatever QEMU of these instances is still there (cleanup after a failed test). */
export async function killQemusOf(instanceIds: Iterable<string>): Promise<number[]> {
  const killed: number[] = [];
  for (const id of instanceIds) {
    for (const pid of await qemuPidsOf(id)) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // gone meanwhile
      }
    }
  }
  return killed;
}

/** Builds (or reuses, it is cached) the test guest image; returns its path. */
export async function buildTestGuest(): Promise<string> {
  await run('bash', [join(repoRoot, 'test/guest/build-test-guest.sh')], { cwd: repoRoot, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 });
  return join(repoRoot, 'test/.cache/guest/novaless-test-guest.qcow2');
}

/** How many times a marker line (e.g. `NOVALESS-GUEST-BOOTED`) is in a console text. */
export const countMarker = (text: string, marker: string) => text.split('\n').filter((line) => line.trim() === marker || line.startsWith(`${marker} `)).length;
