import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPath } from '../../host-agent/config.js';
import { QemuDriver } from '../../host-agent/drivers/qemu/qemu-driver.js';
import { scanGuestProcesses } from '../../host-agent/drivers/qemu/qemu-process.js';
import { ImageCache } from '../../host-agent/image-cache/image-cache.js';
import { execRunner } from '../../host-agent/network/command-runner.js';
import { applyHostNetworkState, teardownHostNetwork } from '../../host-agent/network/data-plane.js';
import type { HostNetworkStateInput } from '../../host-agent/network/desired-state.js';
import { bridgeName, tapName } from '../../host-agent/network/names.js';
import type { GuestNic } from '../../shared/messages/host.js';
import { guestSpec, silentLogger } from '../unit/host-agent/support.js';
import { removeNamespaces } from '../../infra/local/network-topology.js';

/**
 * A real TCG guest on the host data plane: a simulated host (namespace nlq-h1) with one network,
 * whose DHCP (the data plane's dnsmasq) gives the guest its address, and a peer on the same
 * bridge (nlq-p1: a veth standing in for a second guest, as in data-plane.test.ts) that pings
 * the guest and logs in over SSH. The QEMU driver runs the guest inside nlq-h1 (network.netns).
 */

const repo = resolve(import.meta.dirname, '../..');
const buildScript = join(repo, 'test/guest/build-test-guest.sh');
const guestImage = join(repo, 'test/.cache/guest/novaless-test-guest.qcow2');

const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
const missing = ['qemu-system-x86_64', 'qemu-img', 'ip', 'bridge', 'nft', 'dnsmasq', 'sysctl', 'ping', 'ssh', 'ssh-keygen'].filter((tool) => !onPath(tool, PATH));
const skipReason =
  process.getuid?.() !== 0 ? 'needs root (network namespaces, taps)' : missing.length ? `missing ${missing.join(', ')}` : !existsSync(buildScript) ? 'no test guest build script' : '';

const NS = { host: 'nlq-h1', peer: 'nlq-p1' } as const;
const NET = '1e000000-0000-4000-8000-00000000000a';
const SUBNET = '5b000000-0000-4000-8000-00000000000a';
const SG = '9d000000-0000-4000-8000-00000000000a';
const GUEST_PORT = { id: 'b1000000-0000-4000-8000-000000000001', mac: 'fa:16:3e:00:0a:01', ip: '10.78.0.11' };
const PEER_PORT = { id: 'b2000000-0000-4000-8000-000000000002', mac: 'fa:16:3e:00:0a:02', ip: '10.78.0.12' };
const MTU = 1450;
const HOSTNAME = 'nics-guest-1';

const state: HostNetworkStateInput = {
  netns: NS.host,
  underlay_ip: '192.168.78.1',
  underlay_dev: 'ul0',
  networks: [
    {
      id: NET,
      vni: 1078,
      mtu: MTU,
      subnets: [{ id: SUBNET, cidr: '10.78.0.0/24', gateway_ip: '10.78.0.1', enable_dhcp: true, dns_nameservers: ['10.78.0.1'], host_routes: [] }],
      dhcp: { mac_address: 'fa:16:3e:00:0a:d1', fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.78.0.2' }] },
      flood: [],
      remote_ports: [],
    },
  ],
  ports: [GUEST_PORT, PEER_PORT].map((p) => ({
    id: p.id,
    network_id: NET,
    mac_address: p.mac,
    fixed_ips: [{ subnet_id: SUBNET, ip_address: p.ip }],
    allowed_address_pairs: [],
    security_group_ids: [SG],
  })),
  security_groups: [{ id: SG, rules: [{ id: '7a000000-0000-4000-8000-00000000000a', direction: 'ingress', remote_group_id: SG }, { id: '7a000000-0000-4000-8000-00000000000b', direction: 'egress' }], member_ips: [GUEST_PORT.ip, PEER_PORT.ip] }],
};

const nic: GuestNic = {
  port_id: GUEST_PORT.id,
  network_id: NET,
  mac_address: GUEST_PORT.mac,
  mtu: MTU,
  tap_name: tapName(GUEST_PORT.id),
  fixed_ips: [{ ip_address: GUEST_PORT.ip, cidr: '10.78.0.0/24', gateway_ip: '10.78.0.1', enable_dhcp: true, dns_nameservers: ['10.78.0.1'] }],
};

const run = (program: string, args: string[], netns?: string, timeoutMs?: number) => execRunner.run(program, args, { netns, timeoutMs });

/** What a failure message adds: the end of the guest's console. */
let context: () => Promise<string> = async () => '';

async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, ms: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s${last ? ` (last error: ${(last as Error).message})` : ''}${await context()}`);
    await sleep(everyMs);
  }
}

describe.skipIf(Boolean(skipReason))(`QEMU guest NICs on the host data plane${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir: string;
  let driver: QemuDriver;
  let key: string;
  const spec = guestSpec({ name: 'nics guest 1', hostname: HOSTNAME, nics: [nic], flavor: { id: '1', name: 'm1.nano', vcpus: 1, ram: 128, disk: 1, ephemeral: 0, swap: 0, extra_specs: {} } });
  const id = spec.instance_id;
  const dataPlane = () => ({ runner: execRunner, stateDir: join(dir, 'network'), guestStandIns: { [PEER_PORT.id]: NS.peer } });
  const consoleOf = () => driver.getConsoleOutput(id);
  const ssh = (command: string) =>
    run('ssh', ['-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR', `cirros@${GUEST_PORT.ip}`, command], NS.peer, 60_000);

  beforeAll(async () => {
    context = async () => `\nthe guest's console ends with:\n${(await consoleOf().catch(() => '')).slice(-3000)}`;
    execFileSync('bash', [buildScript], { stdio: 'ignore', timeout: 170_000 });
    await removeNamespaces('nlq-');
    // Short: the guests' QMP sockets must fit a unix socket path.
    dir = mkdtempSync(join(tmpdir(), 'nlq-'));
    chmodSync(dir, 0o755); // dnsmasq reads its files as nobody
    for (const ns of Object.values(NS)) {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['link', 'set', 'lo', 'up'], ns);
    }
    // An underlay interface for the VXLAN device (no dummy driver here: one end of a veth pair).
    await run('ip', ['link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0-peer'], NS.host);
    await run('ip', ['addr', 'add', '192.168.78.1/24', 'dev', 'ul0'], NS.host);
    await run('ip', ['link', 'set', 'ul0', 'up'], NS.host);
    await applyHostNetworkState(state, dataPlane());
    await run('ip', ['addr', 'add', `${PEER_PORT.ip}/24`, 'dev', 'eth0'], NS.peer);
    await run('ip', ['link', 'set', 'eth0', 'up'], NS.peer);

    key = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'qemu-nics-test', '-f', key]);
    spec.key_name = 'test-key';
    spec.key_data = readFileSync(`${key}.pub`, 'utf8');

    const imageId = randomUUID();
    spec.image_id = imageId;
    spec.image = { id: imageId, disk_format: 'qcow2', size: null, virtual_size: null, os_hash_algo: null, os_hash_value: null };
    await mkdir(join(dir, 'images'), { recursive: true });
    await copyFile(guestImage, join(dir, 'images', `${imageId}.qcow2`));
    driver = new QemuDriver({
      stateDir: dir,
      images: new ImageCache({ dir: join(dir, 'images'), bucket: 'unused', s3: new S3Client({ region: 'us-east-1' }), log: silentLogger() }),
      virtType: 'qemu',
      netns: NS.host,
      log: silentLogger(),
      maxParallelSnapshots: 1,
      quitTimeoutMs: 5000,
    });
    await driver.init([]);
  });

  afterAll(async () => {
    driver?.close();
    if (process.env.NOVALESS_KEEP_TEST_STATE) return;
    if (dir) {
      for (const [, pid] of await scanGuestProcesses(join(dir, 'instances'))) process.kill(pid, 'SIGKILL');
      await teardownHostNetwork({ netns: NS.host, underlay_ip: '192.168.78.1' }, dataPlane()).catch(() => undefined);
    }
    await removeNamespaces('nlq-');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('boots with its NIC on the port’s tap, gets the port’s address by DHCP, answers ping and SSH from a peer', async () => {
    await driver.spawn(spec);
    const [pid] = (await scanGuestProcesses(join(dir, 'instances'))).values();
    expect((await run('ip', ['netns', 'identify', String(pid)])).trim()).toBe(NS.host);

    const console = await eventually('GUEST-IP on the console', async () => ((await consoleOf()).includes(`GUEST-IP: eth0 ${GUEST_PORT.ip}`) ? consoleOf() : undefined), 180_000);
    expect(console).toContain('NOVALESS-SSH-KEYS 1');
    expect(await eventually('ping from the peer', () => run('ping', ['-c1', '-W2', GUEST_PORT.ip], NS.peer).then(() => true), 60_000)).toBe(true);
    expect(await eventually('a 1422-byte unfragmented ping', () => run('ping', ['-c1', '-W2', '-M', 'do', '-s', '1422', GUEST_PORT.ip], NS.peer).then(() => true), 30_000)).toBe(true);
    // The host key is made at boot and the key exchange runs under TCG: allow time for both.
    expect((await eventually('ssh cirros@guest hostname', () => ssh('hostname'), 120_000, 2000)).trim()).toBe(HOSTNAME);
    expect((await ssh('cat /sys/class/net/eth0/mtu')).trim()).toBe(String(MTU));
  }, 420_000);

  it('keeps the NIC across power off and on, making the tap again when it is gone', async () => {
    await driver.powerOff(id, 0);
    await run('ip', ['link', 'del', nic.tap_name], NS.host);
    await driver.powerOn(id);
    // The driver made the tap for QEMU; attaching it is the data plane's job.
    const tap = JSON.parse(await run('ip', ['-j', '-d', 'link', 'show', 'dev', nic.tap_name], NS.host))[0];
    expect(tap.linkinfo).toMatchObject({ info_kind: 'tun', info_data: { type: 'tap', vnet_hdr: true, multi_queue: false } });
    expect(tap.master).toBeUndefined();
    await applyHostNetworkState(state, dataPlane());
    expect(JSON.parse(await run('ip', ['-j', 'link', 'show', 'dev', nic.tap_name], NS.host))[0].master).toBe(bridgeName(NET));

    await eventually('a second GUEST-IP on the console', async () => (await consoleOf()).split(`GUEST-IP: eth0 ${GUEST_PORT.ip}`).length === 3, 180_000);
    expect((await eventually('ssh after power on', () => ssh('hostname'), 120_000, 2000)).trim()).toBe(HOSTNAME);
  }, 420_000);

  it('keeps the NIC through suspend and resume (QEMU started again with -incoming)', async () => {
    await driver.suspend(id);
    expect(await run('ping', ['-c1', '-W1', GUEST_PORT.ip], NS.peer).then(() => true, () => false)).toBe(false);
    await driver.resume(id);
    const [pid] = (await scanGuestProcesses(join(dir, 'instances'))).values();
    expect((await run('ip', ['netns', 'identify', String(pid)])).trim()).toBe(NS.host);
    // Restored, not booted: the same guest, its address and SSH server still there.
    expect((await eventually('ssh after resume', () => ssh('hostname'), 60_000, 1000)).trim()).toBe(HOSTNAME);
    expect((await consoleOf()).split('NOVALESS-GUEST-BOOTED').length).toBe(3);
  }, 300_000);
});
