import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerState } from '../../shared/domain/instance-states.js';
import { onPath } from '../../host-agent/config.js';
import { InvalidGuestState } from '../../host-agent/drivers/driver.js';
import { QemuDriver } from '../../host-agent/drivers/qemu/qemu-driver.js';
import { scanGuestProcesses } from '../../host-agent/drivers/qemu/qemu-process.js';
import { ImageCache } from '../../host-agent/image-cache/image-cache.js';
import { guestSpec, silentLogger, tempDir } from '../unit/host-agent/support.js';

/**
 * Nova's trigger_crash_dump on a real TCG guest through the QEMU driver: QMP inject-nmi reaches
 * the guest's kernel, which (without kdump or panic_on_unrecovered_nmi) logs the unknown NMI on
 * the serial console and carries on. A paused guest takes it; a stopped one refuses.
 */

const repo = resolve(import.meta.dirname, '../..');
const buildScript = join(repo, 'test/guest/build-test-guest.sh');
const guestImage = join(repo, 'test/.cache/guest/novaless-test-guest.qcow2');
const missing = ['qemu-system-x86_64', 'qemu-img'].filter((tool) => !onPath(tool, process.env.PATH ?? ''));
const skipReason = missing.length ? `missing ${missing.join(', ')}` : !existsSync(buildScript) && !existsSync(guestImage) ? 'no test guest' : '';

let stateDir: string;
let driver: QemuDriver;

async function waitForConsole(id: string, pattern: RegExp, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const output = await driver.getConsoleOutput(id);
    if (pattern.test(output)) return output;
    if (Date.now() > deadline) throw new Error(`console of ${id} did not show ${pattern}:\n${output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  if (skipReason) return;
  if (existsSync(buildScript)) execFileSync('bash', [buildScript], { stdio: 'ignore', timeout: 170_000 });
  stateDir = await tempDir('qemu-crash-dump-');
  driver = new QemuDriver({
    stateDir,
    images: new ImageCache({ dir: join(stateDir, 'images'), bucket: 'unused', s3: new S3Client({ region: 'us-east-1' }), log: silentLogger() }),
    virtType: 'qemu',
    networking: false,
    log: silentLogger(),
    maxParallelSnapshots: 1,
    quitTimeoutMs: 5000,
  });
}, 200_000);

afterAll(async () => {
  if (skipReason) return;
  driver?.close();
  if (stateDir) {
    for (const [, pid] of await scanGuestProcesses(join(stateDir, 'instances'))) process.kill(pid, 'SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  }
});

describe.skipIf(!!skipReason)(`QEMU trigger_crash_dump${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('injects an NMI the guest kernel sees; paused guests take it, stopped ones refuse', async () => {
    const imageId = randomUUID();
    await mkdir(join(stateDir, 'images'), { recursive: true });
    await copyFile(guestImage, join(stateDir, 'images', `${imageId}.qcow2`));
    const spec = guestSpec({
      hostname: 'nmi-1',
      image_id: imageId,
      image: { id: imageId, disk_format: 'qcow2', size: null, virtual_size: null, os_hash_algo: null, os_hash_value: null },
      flavor: { id: '1', name: 'm1.nano', vcpus: 1, ram: 128, disk: 1, ephemeral: 0, swap: 0, extra_specs: {} },
    });
    const id = spec.instance_id;
    await driver.init([]);
    expect((await driver.spawn(spec)).power_state).toBe(PowerState.RUNNING);
    await waitForConsole(id, /NOVALESS-GUEST-READY/);

    await driver.triggerCrashDump(id);
    await waitForConsole(id, /NMI received for unknown reason/, 30_000);
    expect((await driver.getInfo(id)).power_state).toBe(PowerState.RUNNING);

    await driver.pause(id);
    await driver.triggerCrashDump(id);
    expect((await driver.getInfo(id)).power_state).toBe(PowerState.PAUSED);
    await driver.unpause(id);

    await driver.powerOff(id, 0);
    await expect(driver.triggerCrashDump(id)).rejects.toBeInstanceOf(InvalidGuestState);
    await driver.destroy(id);
  }, 300_000);
});
