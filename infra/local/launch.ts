import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloudInfoPath, readCloudInfo, repoRoot, type CloudInfo } from './state-dir.js';

export interface LaunchOptions {
  /** The cloud's state dir (NOVALESS_STATE_DIR of the child). */
  stateDir: string;
  /** Where the child's stdout and stderr go (appended). */
  logFile: string;
  /** Arguments of start.ts (`--fresh`, `--port P`, `--hosts N`, ...). */
  args: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Options for the node process itself (e.g. `--cpu-prof`). */
  nodeOptions?: string[];
}

/**
 * Starts a local cloud (`infra/local/start.mjs`, what `npm start` runs) as a child process, for
 * the test run and for each benchmark. It is up once `waitForCloudInfo` resolves.
 */
export function launchCloud(o: LaunchOptions): ChildProcess {
  const log = openSync(o.logFile, 'a');
  return spawn(process.execPath, [...(o.nodeOptions ?? []), join(repoRoot, 'infra/local/start.mjs'), ...o.args], {
    cwd: repoRoot,
    env: { ...process.env, NOVALESS_STATE_DIR: o.stateDir, ...o.env },
    stdio: ['ignore', log, log],
  });
}

/** Waits for the cloud.json a launched cloud writes once it serves; fails with its log if it exits first or is not up by the deadline. */
export async function waitForCloudInfo(child: ChildProcess, o: Pick<LaunchOptions, 'stateDir' | 'logFile'>, deadline: number): Promise<CloudInfo> {
  while (!existsSync(cloudInfoPath(o.stateDir))) {
    if (child.exitCode !== null) throw new Error(`start.ts exited early:\n${readFileSync(o.logFile, 'utf8')}`);
    if (Date.now() > deadline) throw new Error(`start.ts did not come up in time:\n${readFileSync(o.logFile, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return readCloudInfo(o.stateDir);
}

/** SIGTERM, then SIGKILL if the process is still there after timeoutMs; resolves once it has exited. */
export async function stopProcess(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
