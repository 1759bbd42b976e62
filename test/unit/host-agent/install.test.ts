import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../../host-agent/build/build-agent.js';
import { cloud, openstack, openstackJson, useCloudEnvironment } from '../../support/cloud.js';
import { loadAgentConfig } from '../../../host-agent/config.js';
import { generateConsoleKeyPair } from '../../../shared/console/console-keys.js';
import { install, installPaths } from '../../../host-agent/install/install.js';
import { formatStatus, hostStatus } from '../../../host-agent/install/status.js';
import { silentLogger, tempDir } from './support.js';

const QUEUE = 'http://127.0.0.1:1/000000000000/novaless-conductor';
const run = promisify(execFile);

/** The artifact `npm run build:agent` makes, built once for these tests. */
let artifactDir: string;
beforeAll(async () => {
  artifactDir = dirname(await buildAgent());
});

describe('host-agent install', () => {
  it('writes the config, the env file and a systemd unit that never stops the guests, into a temporary root', async () => {
    const root = await tempDir('install-root-');
    const lines: string[] = [];
    const result = await install({
      root,
      flags: { host: 'metal-7', 'conductor-queue-url': QUEUE, 'image-bucket': 'novaless-images', driver: 'qemu', 'virt-type': 'qemu' },
      env: { AWS_REGION: 'eu-west-1', AWS_SECRET_ACCESS_KEY: 'not copied' },
      artifactDir,
      register: false,
      log: silentLogger(),
      say: (line) => lines.push(line),
    });
    expect(result.ok).toBe(true);
    const paths = installPaths(root);
    const installedAgent = join(paths.artifactDir, 'host-agent.mjs');
    expect(result.files).toEqual([installedAgent, paths.configFile, paths.environmentFile, paths.unitFile]);
    expect(lines.join('\n')).toMatch(/ok {3}qemu-system-x86_64: QEMU \d+\.\d+/);
    expect(lines.join('\n')).toMatch(/KVM: (usable|not usable)/);

    // The config is explicit (every default written out) and loads as the agent will load it.
    const config = await loadAgentConfig({ file: paths.configFile });
    expect(config).toMatchObject({ host: 'metal-7', driver: 'qemu', image_bucket: 'novaless-images', state_dir: join(root, 'var/lib/novaless/host-agent'), qemu: { virt_type: 'qemu' }, max_parallel_snapshots: 5 });
    expect((await stat(paths.configFile)).mode & 0o777).toBe(0o600);
    expect((await stat(config.state_dir)).isDirectory()).toBe(true);

    const env = await readFile(paths.environmentFile, 'utf8');
    expect(env).toContain('AWS_REGION=eu-west-1');
    expect(env).not.toContain('SECRET');

    const unit = await readFile(paths.unitFile, 'utf8');
    expect(unit).toMatch(/^KillMode=process$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toContain(`EnvironmentFile=-${paths.environmentFile}`);
    expect(unit).toContain(`\nExecStart=${process.execPath} ${installedAgent} run --config ${paths.configFile}\n`);

    // The installed artifact runs on its own: from /, outside any checkout, with no node_modules to find.
    const { stdout } = await run(process.execPath, [installedAgent, 'status', '--config', paths.configFile, '--json'], { cwd: '/', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    expect(JSON.parse(stdout)).toMatchObject({ host: 'metal-7', driver: 'qemu', guests: [] });

    // status reads the installed config: healthy, no guests.
    const status = await hostStatus(config, silentLogger());
    expect(status).toMatchObject({ host: 'metal-7', driver: 'qemu', virt_type: 'qemu', guests: [], unknown_guests: [] });
    expect(status.checks.filter((c) => c.required).every((c) => c.ok)).toBe(true);
    expect(formatStatus(status)).toMatch(/^host metal-7: driver qemu, virt type qemu/);
  });

  it('writes the console public key given as a flag and names it in the config; refuses a private key', async () => {
    const root = await tempDir('install-console-');
    const { privatePem, publicPem } = generateConsoleKeyPair();
    const flags = { host: 'metal-8', 'conductor-queue-url': QUEUE, driver: 'fake' };
    const result = await install({ root, flags: { ...flags, 'console-public-key': publicPem.trim().replace(/\n/g, '\\n') }, env: {}, artifactDir, register: false, log: silentLogger(), say: () => undefined });
    const paths = installPaths(root);
    expect(result.files).toContain(paths.consolePublicKeyFile);
    expect(await readFile(paths.consolePublicKeyFile, 'utf8')).toBe(publicPem);
    expect((await loadAgentConfig({ file: paths.configFile })).console.public_key_file).toBe(paths.consolePublicKeyFile);

    const other = await tempDir('install-console-private-');
    await expect(install({ root: other, flags: { ...flags, 'console-public-key': privatePem }, env: {}, artifactDir, register: false, log: silentLogger(), say: () => undefined })).rejects.toThrow(
      /holds a private key/,
    );
    await expect(stat(installPaths(other).configFile)).rejects.toThrow();
  });

  it('stops when the qemu driver has no image bucket', async () => {
    const root = await tempDir('install-root-');
    const result = await install({ root, flags: { host: 'metal-8', 'conductor-queue-url': QUEUE, driver: 'qemu', 'virt-type': 'qemu' }, env: {}, artifactDir, register: false, log: silentLogger(), say: () => undefined });
    expect(result.ok).toBe(false);
    expect(result.files).toEqual([]);
  });

  it('registers the host with the control plane, which creates its queue and lists it as a hypervisor', async () => {
    useCloudEnvironment();
    const c = cloud();
    const host = `install-${randomUUID().slice(0, 8)}`;
    const root = await tempDir('install-root-');
    const result = await install({
      root,
      flags: { host, 'conductor-queue-url': c.conductorQueueUrl, 'image-bucket': c.imageBucket, driver: 'qemu', 'virt-type': 'qemu' },
      env: process.env,
      artifactDir,
      register: true,
      log: silentLogger(),
      say: () => undefined,
      registration: { timeoutMs: 30_000 },
    });
    try {
      expect(result.ok).toBe(true);
      expect(result.queueUrl).toMatch(new RegExp(`${host}`));
      const hypervisors = await openstackJson<{ 'Hypervisor Hostname': string; 'Hypervisor Type': string }[]>(['hypervisor', 'list']);
      expect(hypervisors.find((h) => h['Hypervisor Hostname'] === host)).toMatchObject({ 'Hypervisor Type': 'QEMU' });
    } finally {
      // No agent runs for this host: keep the scheduler away from it.
      await openstack(['compute', 'service', 'set', '--disable', '--disable-reason', 'install test', host, 'nova-compute']);
    }
  });
});
