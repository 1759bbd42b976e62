import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../infra/local/emulators.js';
import { launchCloud, stopProcess, waitForCloudInfo } from '../../infra/local/launch.js';
import type { CloudInfo } from '../../infra/local/state-dir.js';

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
  const workDir = mkdtempSync(join(tmpdir(), 'novaless-test-'));
  // The log sits beside the state dir, not in it: --fresh empties the state dir as it starts.
  const stateDir = join(workDir, 'state');
  const logFile = join(workDir, 'start.log');
  const port = await freePort();
  const child = launchCloud({ stateDir, logFile, args: ['--fresh', '--port', String(port), '--driver', 'fake'], env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN' } });
  try {
    const info = await waitForCloudInfo(child, { stateDir, logFile }, Date.now() + 90_000);
    project.provide('cloud', { ...info, stateDir, logFile });
  } catch (err) {
    await stopProcess(child, 40_000); // its state dir and log stay, for a look
    throw err;
  }

  return async () => {
    await stopProcess(child, 40_000);
    if (!process.env.NOVALESS_KEEP_TEST_STATE) rmSync(workDir, { recursive: true, force: true });
  };
}
