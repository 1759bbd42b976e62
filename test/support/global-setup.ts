import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../infra/local/emulators.js';
import { launchCloud, stopProcess, waitForCloudInfo } from '../../infra/local/launch.js';
import type { CloudInfo } from '../../infra/local/state-dir.js';
import { requireNodeMajor } from '../../shared/node-version.js';

export type TestCloud = CloudInfo & { stateDir: string; logFile: string };

declare module 'vitest' {
  export interface ProvidedContext {
    /** One cloud per test lane (vitest worker), in lane order. */
    clouds: TestCloud[];
  }
}

/**
 * One local cloud per test lane, shared by the integration and end-to-end files that run in it:
 * `npm start --fresh` (the real command, as a child process) with its own state dir and port,
 * stopped after the run. Files run in two lanes at once, each against its own cloud, so no file
 * sees another's hosts, aggregates or quotas (the clouds' network namespaces are named after
 * their state dirs).
 */
export default async function setup(project: TestProject) {
  requireNodeMajor('npm test (vitest)');
  const workDir = mkdtempSync(join(tmpdir(), 'novaless-test-'));
  const started: { child: ReturnType<typeof launchCloud>; cloud: TestCloud }[] = [];
  const stopAll = async () => {
    await Promise.all(started.map(({ child }) => stopProcess(child, 40_000)));
  };
  try {
    const clouds = await Promise.all(
      Array.from({ length: Math.max(1, project.config.maxWorkers) }, async (_, lane) => {
        // The log sits beside the state dir, not in it: --fresh empties the state dir as it starts.
        const stateDir = join(workDir, `lane-${lane + 1}`, 'state');
        const logFile = join(workDir, `lane-${lane + 1}`, 'start.log');
        mkdirSync(join(workDir, `lane-${lane + 1}`));
        const port = await freePort();
        const child = launchCloud({ stateDir, logFile, args: ['--fresh', '--port', String(port), '--driver', 'fake'], env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN' } });
        const cloud = { ...(await waitForCloudInfo(child, { stateDir, logFile }, Date.now() + 120_000)), stateDir, logFile };
        started.push({ child, cloud });
        return cloud;
      }),
    );
    project.provide('clouds', clouds);
  } catch (err) {
    await stopAll(); // the state dirs and logs stay, for a look
    throw err;
  }

  return async () => {
    await stopAll();
    if (!process.env.NOVALESS_KEEP_TEST_STATE) rmSync(workDir, { recursive: true, force: true });
  };
}
