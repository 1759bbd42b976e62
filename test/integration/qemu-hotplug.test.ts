import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerState } from '../../shared/domain/instance-states.js';
import { GuestSpecSchema, type GuestNic } from '../../shared/messages/host.js';
import { onPath } from '../../host-agent/config.js';
import { QemuDriver } from '../../host-agent/drivers/qemu/qemu-driver.js';
import { nicIds, scanGuestProcesses } from '../../host-agent/drivers/qemu/qemu-process.js';
import { QmpClient } from '../../host-agent/drivers/qemu/qmp-client.js';
import { ImageCache } from '../../host-agent/image-cache/image-cache.js';
import { guestSpec, silentLogger, tempDir } from '../unit/host-agent/support.js';

/**
 * Nova's attach_interface / detach_interface on a real TCG guest through the QEMU driver: a NIC
 * hot-plugged into the running test guest (its tap made by the driver in a namespace of its own)
 * shows in QEMU's device tree and PCI bus with the port's MAC; unplugged, the guest ejects it and
 * it is gone. spec.json follows, so the next start has the same NICs; a stopped guest only gets
 * its spec changed.
 */

const repo = resolve(import.meta.dirname, '../..');
const buildScript = join(repo, 'test/guest/build-test-guest.sh');
const guestImage = join(repo, 'test/.cache/guest/novaless-test-guest.qcow2');
const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
const missing = ['qemu-system-x86_64', 'qemu-img', 'ip', 'sysctl'].filter((tool) => !onPath(tool, PATH));
const skipReason =
  process.getuid?.() !== 0 ? 'needs root (a network namespace, taps)' : missing.length ? `missing ${missing.join(', ')}` : !existsSync(buildScript) && !existsSync(guestImage) ? 'no test guest' : '';

const NETNS = `nlhp-${process.pid}`;
const PORT = 'c3000000-0000-4000-8000-000000000001';
const nic: GuestNic = {
  port_id: PORT,
  network_id: '1e000000-0000-4000-8000-00000000000c',
  mac_address: 'fa:16:3e:00:0c:01',
  mtu: 1450,
  tap_name: `tap${PORT.slice(0, 11)}`,
  fixed_ips: [],
};

let stateDir: string;
let driver: QemuDriver;

const qmpOf = (id: string) => QmpClient.connect(join(stateDir, 'instances', id, 'qmp.sock'));
async function withQmp<T>(id: string, use: (qmp: QmpClient) => Promise<T>): Promise<T> {
  const qmp = await qmpOf(id);
  try {
    return await use(qmp);
  } finally {
    qmp.close();
  }
}
const peripherals = (id: string) => withQmp(id, (qmp) => qmp.execute<{ name: string; type: string }[]>('qom-list', { path: '/machine/peripheral' }));
/** The network devices on the guest's PCI bus (class 0x0200: Ethernet), with their QOM ids. */
async function pciNics(id: string): Promise<string[]> {
  const buses = await withQmp(id, (qmp) => qmp.execute<{ devices: { class_info: { class: number }; qdev_id: string }[] }[]>('query-pci'));
  return buses.flatMap((b) => b.devices.filter((d) => d.class_info.class === 0x0200).map((d) => d.qdev_id));
}
const savedSpec = (id: string) => GuestSpecSchema.parse(JSON.parse(readFileSync(join(stateDir, 'instances', id, 'spec.json'), 'utf8')));

async function waitForConsole(id: string, pattern: RegExp, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(await driver.getConsoleOutput(id))) {
    if (Date.now() > deadline) throw new Error(`console of ${id} did not show ${pattern}:\n${(await driver.getConsoleOutput(id)).slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  if (skipReason) return;
  if (existsSync(buildScript)) execFileSync('bash', [buildScript], { stdio: 'ignore', timeout: 170_000 });
  execFileSync('ip', ['netns', 'add', NETNS]);
  stateDir = await tempDir('qemu-hotplug-');
  driver = new QemuDriver({
    stateDir,
    images: new ImageCache({ dir: join(stateDir, 'images'), bucket: 'unused', s3: new S3Client({ region: 'us-east-1' }), log: silentLogger() }),
    virtType: 'qemu',
    netns: NETNS,
    log: silentLogger(),
    maxParallelSnapshots: 1,
    quitTimeoutMs: 5000,
    nicUnplugTimeoutMs: 60_000,
  });
}, 200_000);

afterAll(async () => {
  if (skipReason) return;
  driver?.close();
  if (stateDir) {
    for (const [, pid] of await scanGuestProcesses(join(stateDir, 'instances'))) process.kill(pid, 'SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  }
  try {
    execFileSync('ip', ['netns', 'del', NETNS]);
  } catch {
    // never made
  }
});

describe.skipIf(!!skipReason)(`QEMU NIC hot-plug${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('hot-plugs a NIC into a running guest, keeps it in the spec, and unplugs it', async () => {
    const imageId = randomUUID();
    await mkdir(join(stateDir, 'images'), { recursive: true });
    await copyFile(guestImage, join(stateDir, 'images', `${imageId}.qcow2`));
    const spec = guestSpec({
      hostname: 'hotplug-1',
      image_id: imageId,
      image: { id: imageId, disk_format: 'qcow2', size: null, virtual_size: null, os_hash_algo: null, os_hash_value: null },
      flavor: { id: '1', name: 'm1.nano', vcpus: 1, ram: 128, disk: 1, ephemeral: 0, swap: 0, extra_specs: {} },
    });
    const id = spec.instance_id;
    await driver.init([]);
    expect((await driver.spawn(spec)).power_state).toBe(PowerState.RUNNING);
    // The guest's kernel must be up to take an ACPI hot-plug (and to eject on unplug).
    await waitForConsole(id, /NOVALESS-GUEST-READY/);
    expect(await pciNics(id)).toEqual([]);

    const ids = nicIds(PORT);
    await driver.attachInterface(id, nic);
    expect(await peripherals(id)).toContainEqual({ name: ids.device, type: 'child<virtio-net-pci>' });
    expect(await pciNics(id)).toEqual([ids.device]);
    expect(await withQmp(id, (qmp) => qmp.execute('qom-get', { path: `/machine/peripheral/${ids.device}`, property: 'mac' }))).toBe(nic.mac_address);
    // The tap was made in the guest's namespace, as the data plane makes it.
    expect(execFileSync('ip', ['-n', NETNS, '-j', 'link', 'show', 'dev', nic.tap_name]).toString()).toContain(nic.tap_name);
    expect(savedSpec(id).nics).toEqual([nic]);
    // A command seen twice changes nothing.
    await driver.attachInterface(id, nic);
    expect(await pciNics(id)).toEqual([ids.device]);
    expect(savedSpec(id).nics).toEqual([nic]);

    await driver.detachInterface(id, PORT);
    expect((await peripherals(id)).map((p) => p.name)).not.toContain(ids.device);
    expect(await pciNics(id)).toEqual([]);
    expect(savedSpec(id).nics).toEqual([]);
    await driver.detachInterface(id, PORT); // again: nothing left to do

    // Stopped: only the spec changes; the next start has the NIC, with the same ids.
    await driver.powerOff(id, 0);
    await driver.attachInterface(id, nic);
    expect(savedSpec(id).nics).toEqual([nic]);
    await driver.powerOn(id);
    expect(await pciNics(id)).toEqual([ids.device]);

    await driver.destroy(id);
  }, 300_000);
});
