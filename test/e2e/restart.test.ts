import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/emulators.js';
import { launchCloud, stopProcess, waitForCloudInfo } from '../../infra/local/launch.js';
import type { CloudInfo } from '../../infra/local/state-dir.js';

const run = promisify(execFile);

/**
 * `npm start` keeps its state across a restart (without --fresh): users, images, servers, the
 * token signing key and the host's guests are all there again. This suite runs its own cloud,
 * not the shared one, because it stops and starts it.
 */
describe('a restart of npm start', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'novaless-restart-'));
  // Beside the state dir, not in it: --fresh empties the state dir.
  const stateDir = join(workDir, 'state');
  const logFile = join(workDir, 'start.log');
  let child: ChildProcess | undefined;
  let info: CloudInfo;
  let port: number;

  const start = async (fresh: boolean) => {
    child = launchCloud({ stateDir, logFile, args: [...(fresh ? ['--fresh'] : []), '--port', String(port), '--driver', 'fake'], env: { LOG_LEVEL: 'WARN' } });
    info = await waitForCloudInfo(child, { stateDir, logFile }, Date.now() + 90_000);
  };
  const stop = async () => {
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    await stopProcess(child!, 40_000);
    return exited;
  };
  const openstack = async (args: string[], token?: string) => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      OS_AUTH_URL: info.authUrl,
      OS_IDENTITY_API_VERSION: '3',
      OS_REGION_NAME: 'RegionOne',
      OS_INTERFACE: 'public',
      ...(token
        ? { OS_AUTH_TYPE: 'token', OS_TOKEN: token, OS_PROJECT_NAME: 'admin', OS_PROJECT_DOMAIN_NAME: 'Default' }
        : { OS_USERNAME: 'admin', OS_PASSWORD: info.adminPassword, OS_PROJECT_NAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default' }),
    };
    const { stdout } = await run('openstack', [...args, '-f', 'json'], { env, timeout: 120_000 });
    return JSON.parse(stdout);
  };
  const waitForStatus = async (id: string, status: string) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const server = await openstack(['server', 'show', id]);
      if (server.status === status) return server;
      if (Date.now() > deadline) throw new Error(`server ${id} is ${server.status}, not ${status}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  afterAll(async () => {
    if (child && child.exitCode === null) await stopProcess(child, 40_000);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('keeps users, tokens, images and servers, and the agent finds its guest again', { timeout: 180_000 }, async () => {
    port = await freePort();
    await start(true);
    const imageFile = join(workDir, 'disk.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', imageFile, '64M']);
    const image = await openstack(['image', 'create', '--file', imageFile, '--disk-format', 'qcow2', '--container-format', 'bare', 'restart-image']);
    const created = await openstack(['server', 'create', '--flavor', 'm1.tiny', '--image', image.id, '--wait', 'survivor']);
    expect(created.status).toBe('ACTIVE');
    const token = (await openstack(['token', 'issue'])).id as string;
    const password = info.adminPassword;

    expect(await stop()).toBe(0);
    expect(readFileSync(logFile, 'utf8')).toMatch(/novaless: stopped\./);
    await start(false);

    expect(info.adminPassword).toBe(password);
    // The signing key survived: a token issued before the restart is still good.
    expect((await openstack(['server', 'list'], token)).map((s: { Name: string }) => s.Name)).toContain('survivor');
    const server = await openstack(['server', 'show', created.id]);
    expect(server.status).toBe('ACTIVE');
    expect(server['OS-EXT-SRV-ATTR:host']).toBe(created['OS-EXT-SRV-ATTR:host']);
    expect((await openstack(['image', 'show', image.id])).status).toBe('active');
    const services = await openstack(['compute', 'service', 'list']);
    expect(services.find((s: { Host: string }) => s.Host === server['OS-EXT-SRV-ATTR:host'])?.State).toBe('up');

    // The agent still knows the guest: the delete goes through it and releases the claim.
    await run('openstack', ['server', 'delete', '--wait', created.id], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, OS_AUTH_URL: info.authUrl, OS_IDENTITY_API_VERSION: '3', OS_USERNAME: 'admin', OS_PASSWORD: info.adminPassword, OS_PROJECT_NAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default' },
      timeout: 120_000,
    });
    const hypervisors = await openstack(['hypervisor', 'list', '--long']);
    expect(hypervisors.every((h: { 'vCPUs Used': number }) => h['vCPUs Used'] === 0)).toBe(true);
    expect(await stop()).toBe(0);
  });
});
