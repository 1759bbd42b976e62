import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../infra/local/emulators.js';
import { cloudInfoPath, repoRoot, type CloudInfo } from '../../infra/local/state-dir.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cloud: CloudInfo & { stateDir: string; logFile: string };
  }
}

/**
 * One local cloud for every integration and end-to-end suite: `npm start --fresh` (the real
 * command, as a child process) with its own state dir and port, stopped after the run.
 */
export default async function setup(project: TestProject) {
  const stateDir = mkdtempSync(join(tmpdir(), 'novaless-test-'));
  const logFile = join(stateDir, 'start.log');
  const port = await freePort();
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'infra/local/start.ts'), '--fresh', '--port', String(port)], {
    cwd: repoRoot,
    env: { ...process.env, NOVALESS_STATE_DIR: stateDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN' },
    stdio: ['ignore', log, log],
  });
  const deadline = Date.now() + 90_000;
  while (!existsSync(cloudInfoPath(stateDir))) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${readFileSync(logFile, 'utf8')}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up in 90 s:\n${readFileSync(logFile, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const info = JSON.parse(readFileSync(cloudInfoPath(stateDir), 'utf8')) as CloudInfo;
  project.provide('cloud', { ...info, stateDir, logFile });

  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      await exited;
      clearTimeout(timer);
    }
    if (!process.env.NOVALESS_KEEP_TEST_STATE) rmSync(stateDir, { recursive: true, force: true });
  };
}
