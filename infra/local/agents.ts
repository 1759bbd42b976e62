import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess } from './launch.js';
import { repoRoot } from './state-dir.js';
import { AGENT_BUNDLE } from '../../host-agent/build/build-agent.js';

export interface AgentOptions {
  host: string;
  stateDir: string;
  logDir: string;
  conductorQueueUrl: string;
  /** Only the endpoints an agent may use: SQS and S3, never DynamoDB. */
  env: Record<string, string>;
  extraArgs?: string[];
  /** fake (default: tests and benchmarks) or qemu (real guests: `npm start -- --driver qemu`). */
  driver?: 'fake' | 'qemu';
  /** The bucket the qemu driver fetches images from. */
  imageBucket?: string;
}

/**
 * Starts one host agent as its own process, from the artifact a metal host installs
 * (`npm run build:agent`; start.ts builds it first), its log in the state dir.
 */
export function startAgent(o: AgentOptions): ChildProcess {
  mkdirSync(o.logDir, { recursive: true });
  const log = createWriteStream(join(o.logDir, `${o.host}.log`), { flags: 'a' });
  const child = spawn(
    process.execPath,
    [AGENT_BUNDLE, 'run', '--host', o.host, '--driver', o.driver ?? 'fake',
      ...(o.imageBucket ? ['--image-bucket', o.imageBucket] : []),
      '--state-dir', o.stateDir, '--conductor-queue-url', o.conductorQueueUrl, ...(o.extraArgs ?? [])],
    { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}

/** SIGTERM (a graceful stop), SIGKILL if the agent is still there after timeoutMs. */
export const stopAgent = (child: ChildProcess, timeoutMs = 25_000): Promise<void> => stopProcess(child, timeoutMs);
