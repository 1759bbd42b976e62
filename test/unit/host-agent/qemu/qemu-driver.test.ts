import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerState } from '../../../../shared/domain/instance-states.js';
import { ImageCache } from '../../../../host-agent/image-cache/image-cache.js';
import { QemuDriver } from '../../../../host-agent/drivers/qemu/qemu-driver.js';
import { isGuestProcess, scanGuestProcesses } from '../../../../host-agent/drivers/qemu/qemu-process.js';
import { GuestNotFound, InvalidGuestState } from '../../../../host-agent/drivers/driver.js';
import { guestSpec, silentLogger, tempDir } from '../support.js';

const repo = resolve(import.meta.dirname, '../../../..');
const buildScript = join(repo, 'test/guest/build-test-guest.sh');
const guestImage = join(repo, 'test/.cache/guest/novaless-test-guest.qcow2');

let stateDir: string;
const drivers: QemuDriver[] = [];

function driver(): QemuDriver {
  const d = new QemuDriver({
    stateDir,
    // The image is put in the cache below: this test is about the driver, not about S3.
    images: new ImageCache({ dir: join(stateDir, 'images'), bucket: 'unused', s3: new S3Client({ region: 'us-east-1' }), log: silentLogger() }),
    virtType: 'qemu', // TCG: what every machine can run
    log: silentLogger(),
    maxParallelSnapshots: 1,
    quitTimeoutMs: 5000,
    softRebootTimeoutSec: 30,
  });
  drivers.push(d);
  return d;
}

async function waitForConsole(d: QemuDriver, id: string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const output = await d.getConsoleOutput(id);
    if (pattern.test(output)) return output;
    if (Date.now() > deadline) throw new Error(`console of ${id} did not show ${pattern} within ${timeoutMs} ms; it has:\n${output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  if (existsSync(buildScript)) execFileSync('bash', [buildScript], { stdio: 'ignore', timeout: 170_000 });
  stateDir = await tempDir('qemu-driver-');
});

afterAll(async () => {
  drivers.forEach((d) => d.close());
  if (!stateDir) return;
  // Whatever happened, no QEMU of this test outlives it.
  for (const [, pid] of await scanGuestProcesses(join(stateDir, 'instances'))) process.kill(pid, 'SIGKILL');
  await rm(stateDir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(buildScript) && !existsSync(guestImage))('QEMU driver with the test guest (TCG)', () => {
  it('spawns, pauses, powers off and on, survives an agent restart, suspends, and destroys a real guest', async () => {
    const imageId = randomUUID();
    await mkdir(join(stateDir, 'images'), { recursive: true });
    await copyFile(guestImage, join(stateDir, 'images', `${imageId}.qcow2`));
    const spec = guestSpec({
      hostname: 'qemu-test-1',
      name: 'qemu test 1',
      image_id: imageId,
      image: { id: imageId, disk_format: 'qcow2', size: null, virtual_size: null, os_hash_algo: null, os_hash_value: null },
      flavor: { id: '1', name: 'm1.nano', vcpus: 1, ram: 128, disk: 1, ephemeral: 0, swap: 0, extra_specs: {} },
    });
    const id = spec.instance_id;
    const d = driver();
    await d.init([]);
    const timings: Record<string, number> = {};
    let t = Date.now();
    const lap = (what: string) => {
      timings[what] = Date.now() - t;
      t = Date.now();
    };

    expect(await d.spawn(spec)).toEqual({ power_state: PowerState.RUNNING, addresses: {} });
    lap('spawn');
    const dir = join(stateDir, 'instances', id);
    for (const file of ['disk.qcow2', 'disk.config.iso', 'console.log', 'qmp.sock', 'vnc.sock', 'qemu.pid', 'spec.json']) expect(existsSync(join(dir, file)), file).toBe(true);
    const disk = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output', 'json', join(dir, 'disk.qcow2')]).toString());
    expect(disk['virtual-size']).toBe(1024 ** 3);

    // The guest read its uuid and hostname from the config drive.
    const console = await waitForConsole(d, id, /NOVALESS-HOSTNAME qemu-test-1[\s\S]*NOVALESS-GUEST-READY/);
    lap('boot to hostname marker');
    expect(console).toContain('NOVALESS-GUEST-BOOTED');
    expect(console).toContain(`NOVALESS-INSTANCE-UUID ${id}`);
    expect((await d.getConsoleOutput(id, 2)).split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);

    await d.pause(id);
    expect(await d.getInfo(id)).toEqual({ instance_id: id, power_state: PowerState.PAUSED });
    await expect(d.pause(id)).rejects.toBeInstanceOf(InvalidGuestState);
    await d.unpause(id);
    expect((await d.getInfo(id)).power_state).toBe(PowerState.RUNNING);
    lap('pause and unpause');

    // The agent restarts: a new driver re-attaches to the running guest.
    const restarted = driver();
    await restarted.init([{ instance_id: id, spec, power_state: PowerState.RUNNING, built: true }]);
    expect(await restarted.listGuests()).toEqual([{ instance_id: id, power_state: PowerState.RUNNING }]);

    // ACPI power button: the guest powers off, and its QEMU is gone.
    const pid = Number(execFileSync('cat', [join(dir, 'qemu.pid')]).toString());
    await restarted.powerOff(id, 30);
    lap('ACPI power off');
    expect((await restarted.getInfo(id)).power_state).toBe(PowerState.SHUTDOWN);
    expect(await isGuestProcess(pid, id)).toBe(false); // gone, or a zombie waiting for init to reap it
    expect(await restarted.getConsoleOutput(id)).toContain('NOVALESS-POWERING-OFF');

    await restarted.powerOn(id);
    expect((await restarted.getInfo(id)).power_state).toBe(PowerState.RUNNING);
    await waitForConsole(restarted, id, /NOVALESS-POWERING-OFF[\s\S]*NOVALESS-GUEST-READY/);
    lap('power on and boot');

    // SOFT: ACPI power button, the guest powers off, QEMU starts again on the same disk.
    await restarted.reboot(id, 'SOFT');
    expect((await restarted.getInfo(id)).power_state).toBe(PowerState.RUNNING);
    await waitForConsole(restarted, id, /(NOVALESS-GUEST-READY[\s\S]*){3}/);
    expect((await restarted.getConsoleOutput(id)).match(/NOVALESS-POWERING-OFF/g)).toHaveLength(2);
    lap('soft reboot and boot');
    // HARD: system_reset, the same QEMU process boots again.
    const pidBeforeReset = Number(execFileSync('cat', [join(dir, 'qemu.pid')]).toString());
    await restarted.reboot(id, 'HARD');
    await waitForConsole(restarted, id, /(NOVALESS-GUEST-READY[\s\S]*){4}/);
    expect(await isGuestProcess(pidBeforeReset, id)).toBe(true);
    lap('hard reboot and boot');

    await restarted.suspend(id);
    expect((await restarted.getInfo(id)).power_state).toBe(PowerState.SUSPENDED);
    expect((await stat(join(dir, 'suspended.state'))).size).toBeGreaterThan(0);
    expect(await scanGuestProcesses(join(stateDir, 'instances'))).toEqual(new Map());
    await restarted.resume(id);
    expect((await restarted.getInfo(id)).power_state).toBe(PowerState.RUNNING);
    expect(existsSync(join(dir, 'suspended.state'))).toBe(false);
    lap('suspend and resume');

    const snapshot = await restarted.snapshot(id, randomUUID());
    expect(snapshot.disk_format).toBe('qcow2');
    expect(JSON.parse(execFileSync('qemu-img', ['info', '--output', 'json', snapshot.path!]).toString())['backing-filename']).toBeUndefined();
    const chunks: Buffer[] = [];
    for await (const chunk of snapshot.open()) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).length).toBe(snapshot.size_bytes);
    expect((await restarted.getInfo(id)).power_state).toBe(PowerState.RUNNING);
    lap('snapshot');

    await restarted.destroy(id);
    lap('destroy');
    expect(existsSync(dir)).toBe(false);
    expect(await scanGuestProcesses(join(stateDir, 'instances'))).toEqual(new Map());
    await expect(restarted.getInfo(id)).rejects.toBeInstanceOf(GuestNotFound);
    await restarted.destroy(id); // destroying what is gone is not an error
    process.stdout.write(`qemu driver timings (ms): ${JSON.stringify(timings)}\n`);
  }, 240_000);
});
