import '../support/cloud-env.js';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHost, canMakeNamespaces, topologyFor } from '../../infra/local/network-topology.js';
import { onPath } from '../../host-agent/config.js';
import { PowerState, VmState } from '../../shared/domain/instance-states.js';
import { getHost } from '../../shared/store/hosts.js';
import { createInstances, removeInstance } from '../../shared/store/instances.js';
import { api, cloud, issueToken, waitFor } from '../support/cloud.js';
import { newInstance, retireHost, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';
import { buildTestGuest, killQemusOf, stopAgent } from '../support/qemu-agents.js';
import { startCloudAgent } from '../support/test-agents.js';

/**
 * GET /servers/{id}/diagnostics: figures the host agent samples at each heartbeat (QMP and /proc
 * for QEMU guests, bookkeeping for fake ones), kept by the conductor, answered by the API with
 * their age. Below 2.48 the libvirt driver's flat dict, from 2.48 Nova's standard format, checked
 * against Nova's 2.48 response schema (nova/api/openstack/compute/schemas/server_diagnostics.py).
 */
type Body = Record<string, any>;
const SERVERS = '/compute/v2.1/servers';
const NET = '/networking/v2.0';
const at = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });
const stateDir = mkdtempSync('/tmp/nq-diag-');

let adminToken: string;
let member: ProjectMember;
let other: ProjectMember;
const agents: ChildProcess[] = [];
const hosts: string[] = [];
const servers: string[] = [];

/** Samples at every heartbeat (2 s), not every 30 s as by default, so the tests see two samples soon. */
const SAMPLING = ['--heartbeat-interval-seconds', '2', '--diagnostics-interval-seconds', '0'];

const diagnostics = (id: string, version: string, token = adminToken) => api('GET', `${SERVERS}/${id}/diagnostics`, { token, headers: at(version) });

/** Polls until the server's host has reported a sample (the answer says its age; before, it has the record's figures only). */
const sampled = (id: string, version: string, timeoutMs = 60_000) =>
  waitFor(`diagnostics of ${id}`, async () => {
    const res = await diagnostics(id, version);
    if (res.status !== 200) throw new Error(`diagnostics: ${res.status} ${JSON.stringify(res.body)}`);
    return res.headers.get('diagnostics-age') !== null ? res : undefined;
  }, timeoutMs, 500);

async function boot(body: Body, timeoutMs = 60_000): Promise<Body> {
  const res = await api('POST', SERVERS, { token: member.token, headers: at('2.37'), body: { server: { name: uniqueName('diag-vm'), flavorRef: '1', ...body } } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  servers.push(res.body.server.id);
  return waitFor('the server ACTIVE', async () => {
    const s = (await api('GET', `${SERVERS}/${res.body.server.id}`, { token: adminToken })).body.server as Body;
    if (s.status === 'ERROR') throw new Error(`server went to ERROR: ${JSON.stringify(s.fault)}`);
    return s.status === 'ACTIVE' && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  }, timeoutMs, 500);
}

async function network(cidr: string): Promise<string> {
  const net = await api('POST', `${NET}/networks`, { token: member.token, body: { network: { name: uniqueName('diag-net') } } });
  expect(net.status).toBe(201);
  const sub = await api('POST', `${NET}/subnets`, { token: member.token, body: { subnet: { network_id: net.body.network.id, ip_version: 4, cidr } } });
  expect(sub.status).toBe(201);
  return net.body.network.id;
}

/** Nova's index_response_v248, as a check: every field there, nothing else, of the right type. */
function expectStandardShape(d: Body): void {
  const intOrNull = (v: unknown) => v === null || Number.isInteger(v);
  expect(Object.keys(d).sort()).toEqual(
    ['config_drive', 'cpu_details', 'disk_details', 'driver', 'hypervisor', 'hypervisor_os', 'memory_details', 'nic_details', 'num_cpus', 'num_disks', 'num_nics', 'state', 'uptime'].sort(),
  );
  expect(['ironic', 'libvirt', 'vmwareapi', 'xenapi']).toContain(d.driver);
  expect(['pending', 'running', 'paused', 'shutdown', 'crashed', 'suspended']).toContain(d.state);
  expect(typeof d.config_drive).toBe('boolean');
  for (const k of ['num_cpus', 'num_disks', 'num_nics', 'uptime']) expect(intOrNull(d[k]), k).toBe(true);
  expect(Object.keys(d.memory_details).sort()).toEqual(['maximum', 'used']);
  for (const c of d.cpu_details) expect(Object.keys(c).sort()).toEqual(['id', 'time', 'utilisation']);
  for (const k of d.disk_details) expect(Object.keys(k).sort()).toEqual(['errors_count', 'read_bytes', 'read_requests', 'write_bytes', 'write_requests']);
  for (const n of d.nic_details) {
    expect(Object.keys(n).sort()).toEqual(['mac_address', 'rx_drop', 'rx_errors', 'rx_octets', 'rx_packets', 'rx_rate', 'tx_drop', 'tx_errors', 'tx_octets', 'tx_packets', 'tx_rate']);
    for (const [k, v] of Object.entries(n)) if (k !== 'mac_address') expect(intOrNull(v), k).toBe(true);
  }
  expect([d.cpu_details.length, d.disk_details.length, d.nic_details.length]).toEqual([d.num_cpus, d.num_disks, d.num_nics]);
}

beforeAll(async () => {
  adminToken = await issueToken();
  [member, other] = await Promise.all([createProjectMember(uniqueName('diag-p'), adminToken), createProjectMember(uniqueName('diag-o'), adminToken)]);
  // The quota of a fresh project allows the few servers here.
});

afterAll(async () => {
  for (const id of servers) await api('DELETE', `${SERVERS}/${id}`, { token: adminToken });
  await waitFor('the servers gone', async () => {
    const left = await Promise.all(servers.map(async (id) => (await api('GET', `${SERVERS}/${id}`, { token: adminToken })).status !== 404));
    return !left.some(Boolean);
  }, 120_000, 1000).catch(() => undefined);
  await Promise.all(agents.map((a) => stopAgent(a, 5_000)));
  await killQemusOf(new Set(servers));
  for (const host of hosts) if (await getHost(host)) await retireHost(host);
  rmSync(stateDir, { recursive: true, force: true });
}, 200_000);

describe('server diagnostics on a fake-driver host', () => {
  const zone = uniqueName('diag-fake-zone');
  const host = uniqueName('diag-fake');
  let serverId: string;
  let mac: string;

  beforeAll(async () => {
    hosts.push(host);
    agents.push(startCloudAgent({ host, baseDir: stateDir, logLevel: 'WARN', extraArgs: ['--az', zone, '--vcpus', '4', '--memory-mb', '4096', '--disk-gb', '40', ...SAMPLING] }));
    const [imageId, networkId] = await Promise.all([uploadTestImage(uniqueName('diag-image'), adminToken), network('10.91.0.0/28')]);
    await waitFor('the fake host registered', async () => !!(await getHost(host)), 60_000);
    const server = await boot({ imageRef: imageId, availability_zone: zone, networks: [{ uuid: networkId }] });
    serverId = server.id;
    mac = (Object.values(server.addresses) as Body[][])[0][0]['OS-EXT-IPS-MAC:mac_addr'];
  }, 120_000);

  it('at 2.47 gives the libvirt driver’s flat dict, with when it was sampled', async () => {
    const res = await sampled(serverId, '2.47');
    const d = res.body as Record<string, number>;
    expect(d.memory).toBe(512 * 1024);
    expect(d['memory-actual']).toBe(512 * 1024);
    expect(d['memory-rss']).toBeGreaterThan(0);
    expect(d.cpu0_time).toBeGreaterThanOrEqual(0);
    expect(d).not.toHaveProperty('cpu1_time');
    for (const k of ['vda_read', 'vda_read_req', 'vda_write', 'vda_write_req', 'vda_errors']) expect(Number.isInteger(d[k]), k).toBe(true);
    const tap = Object.keys(d).find((k) => /^tap.*_rx$/.test(k))!.replace(/_rx$/, '');
    for (const k of ['rx', 'rx_packets', 'rx_errors', 'rx_drop', 'tx', 'tx_packets', 'tx_errors', 'tx_drop']) expect(Number.isInteger(d[`${tap}_${k}`]), k).toBe(true);
    expect(Object.values(d).every((v) => typeof v === 'number')).toBe(true);
    expect(Date.now() - Date.parse(res.headers.get('last-modified')!)).toBeLessThan(30_000);
    expect(Number(res.headers.get('diagnostics-age'))).toBeLessThan(30);
  });

  it('at 2.48 gives Nova’s standard format, whose counters move from sample to sample', async () => {
    const first = (await sampled(serverId, '2.48')).body;
    expectStandardShape(first);
    expect(first).toMatchObject({ state: 'running', driver: 'libvirt', hypervisor: 'fake', hypervisor_os: 'linux', num_cpus: 1, num_disks: 1, num_nics: 1, config_drive: false });
    expect(first.memory_details.maximum).toBe(512);
    expect(first.nic_details[0].mac_address).toBe(mac);
    const later = await waitFor('a newer sample', async () => {
      const d = (await diagnostics(serverId, '2.48')).body;
      return d.cpu_details[0].time > first.cpu_details[0].time ? d : undefined;
    }, 30_000, 1000);
    expect(later.uptime).toBeGreaterThanOrEqual(first.uptime);
    expect(later.disk_details[0].read_bytes).toBeGreaterThan(first.disk_details[0].read_bytes);
    expect(later.nic_details[0].rx_octets).toBeGreaterThan(first.nic_details[0].rx_octets);
    // From the second sample of a run on, utilisation and rates are known.
    expect(later.cpu_details[0].utilisation).toBe(2);
    expect(later.nic_details[0].rx_rate).toBeGreaterThan(0);
  });

  it('is for admins: 403 for the server’s own project, 404 for another, 404 for no such server', async () => {
    expect((await diagnostics(serverId, '2.48', member.token)).status).toBe(403);
    expect((await diagnostics(serverId, '2.48', member.token)).body).toEqual({ forbidden: { code: 403, message: 'Policy doesn\'t allow os_compute_api:os-server-diagnostics to be performed.' } });
    const foreign = await diagnostics(serverId, '2.48', other.token);
    expect(foreign.status).toBe(404);
    expect(foreign.body.itemNotFound.message).toBe(`Instance ${serverId} could not be found.`);
    expect((await diagnostics('9b7f3e1c-0000-4000-8000-000000000000', '2.1')).status).toBe(404);
  });

  it('before the host’s first sample answers what the record knows, counters null (as Nova’s schema allows)', async () => {
    // On the fake host, but no agent built it: no sample ever comes.
    const unsampled = newInstance(member.projectId, {
      vm_state: VmState.ACTIVE, task_state: null, task_deadline: null, power_state: PowerState.RUNNING, host, launched_at: new Date(Date.now() - 5000).toISOString(),
    });
    await createInstances([unsampled]);
    try {
      const legacy = await diagnostics(unsampled.id, '2.47');
      expect(legacy.status).toBe(200);
      expect(legacy.body).toEqual({ memory: 512 * 1024 });
      const res = await diagnostics(unsampled.id, '2.48');
      expect(res.status).toBe(200);
      expect(res.headers.get('diagnostics-age')).toBeNull();
      expectStandardShape(res.body);
      expect(res.body).toMatchObject({
        state: 'running', driver: 'libvirt', hypervisor: 'fake', num_cpus: 1, num_disks: 1, num_nics: 0, config_drive: false,
        memory_details: { maximum: 512, used: null }, cpu_details: [{ id: 0, time: null, utilisation: null }],
      });
      expect(res.body.uptime).toBeGreaterThanOrEqual(5);
    } finally {
      await removeInstance(unsampled);
    }
  });

  it('is 409 for a server whose guest does not run, and for one without a host', async () => {
    expect((await api('POST', `${SERVERS}/${serverId}/action`, { token: member.token, body: { 'os-stop': null } })).status).toBe(202);
    await waitFor('SHUTOFF', async () => (await api('GET', `${SERVERS}/${serverId}`, { token: adminToken })).body.server.status === 'SHUTOFF', 30_000);
    const stopped = await diagnostics(serverId, '2.48');
    expect(stopped.status).toBe(409);
    expect(stopped.body).toEqual({ conflictingRequest: { code: 409, message: `Cannot 'get_diagnostics' instance ${serverId} while it is in power state shutdown` } });

    const unplaced = newInstance(member.projectId, { vm_state: VmState.BUILDING, power_state: PowerState.NOSTATE, host: null });
    await createInstances([unplaced]);
    try {
      const res = await diagnostics(unplaced.id, '2.1');
      expect(res.status).toBe(409);
      expect(res.body.conflictingRequest.message).toBe(`Instance ${unplaced.id} is not ready`);
    } finally {
      await removeInstance(unplaced);
    }
  });
});

const repo = resolve(import.meta.dirname, '../..');
const missingQemu = ['qemu-system-x86_64', 'qemu-img'].filter((tool) => !onPath(tool, process.env.PATH ?? ''));
const noGuest = !existsSync(join(repo, 'test/guest/build-test-guest.sh')) && !existsSync(join(repo, 'test/.cache/guest/novaless-test-guest.qcow2'));
const qemuSkip = missingQemu.length ? `missing ${missingQemu.join(', ')}` : noGuest ? 'no test guest' : '';

describe.skipIf(!!qemuSkip)(`server diagnostics of a real QEMU guest${qemuSkip ? ` (skipped: ${qemuSkip})` : ''}`, () => {
  const suffix = Date.now().toString(36).slice(-5);
  // Short: the guests' QMP sockets live under the agent's state dir (107 bytes at most).
  const host = `qdiag-${suffix}`;
  const zone = `qdiag-zone-${suffix}`;
  let serverId: string;
  let mac: string | undefined;

  beforeAll(async () => {
    hosts.push(host);
    // As root the agent gets a namespace of the cloud's networks, and the guest a real tap.
    const net = (await canMakeNamespaces()).ok ? await addHost(topologyFor(cloud().stateDir), `qd${suffix}`, 160) : undefined;
    const guestImage = await buildTestGuest();
    const networkArgs = net ? ['--netns', net.netns, '--tunnel-ip', net.tunnelIp, '--underlay-dev', net.underlayDev, '--external-bridge', net.externalBridge] : [];
    agents.push(
      startCloudAgent({ host, driver: 'qemu', imageBucket: cloud().imageBucket, baseDir: stateDir, logLevel: 'INFO', extraArgs: ['--az', zone, '--virt-type', 'qemu', ...SAMPLING, ...networkArgs] }),
    );
    const created = await api('POST', '/image/v2/images', { token: adminToken, body: { name: uniqueName('diag-guest'), disk_format: 'qcow2', container_format: 'bare', visibility: 'public' } });
    // Larger than the API takes itself: the front puts it into storage and the image-data function files it.
    const put = await api('PUT', `/image/v2/images/${created.body.id}/file`, { token: adminToken, rawBody: readFileSync(guestImage), headers: { 'Content-Type': 'application/octet-stream' } });
    expect(put.status).toBeLessThan(300);
    await waitFor('the guest image active', async () => (await api('GET', `/image/v2/images/${created.body.id}`, { token: adminToken })).body.status === 'active', 60_000, 500);
    await waitFor('the QEMU host registered', async () => !!(await getHost(host)), 90_000, 1000);
    const networks = net ? [{ uuid: await network('10.92.0.0/28') }] : 'none';
    const server = await boot({ imageRef: created.body.id, availability_zone: zone, networks }, 180_000);
    serverId = server.id;
    mac = net ? (Object.values(server.addresses) as Body[][])[0][0]['OS-EXT-IPS-MAC:mac_addr'] : undefined;
  }, 400_000);

  it('at 2.1 gives QEMU’s own counters under libvirt’s names', async () => {
    const d = (await sampled(serverId, '2.1', 90_000)).body as Record<string, number>;
    expect(d.memory).toBe(512 * 1024);
    expect(d['memory-actual']).toBe(512 * 1024);
    expect(d['memory-rss']).toBeGreaterThan(10 * 1024);
    expect(d.cpu0_time).toBeGreaterThan(0);
    // The root disk on virtio (vda), the config drive on the first IDE bus's cdrom (hda), as libvirt names them.
    expect(d.vda_read).toBeGreaterThan(0);
    expect(d.vda_read_req).toBeGreaterThan(0);
    expect(d.vda_errors).toBe(0);
    expect(d.hda_read).toBeGreaterThan(0);
    if (mac) expect(Object.keys(d).some((k) => /^tap.*_tx_packets$/.test(k))).toBe(true);
  }, 120_000);

  it('at 2.48 gives them in Nova’s standard format; CPU time and uptime grow', async () => {
    const first = (await sampled(serverId, '2.48')).body;
    expectStandardShape(first);
    expect(first).toMatchObject({ state: 'running', driver: 'libvirt', hypervisor: 'qemu', hypervisor_os: 'linux', num_cpus: 1, num_disks: 2, config_drive: true });
    expect(first.memory_details.maximum).toBe(512);
    expect(first.memory_details.used).toBeGreaterThan(10);
    expect(first.uptime).toBeGreaterThanOrEqual(0);
    if (mac) {
      expect(first.num_nics).toBe(1);
      expect(first.nic_details[0].mac_address).toBe(mac);
      expect(first.nic_details[0].tx_packets).toEqual(expect.any(Number));
    } else expect(first.num_nics).toBe(0);
    const later = await waitFor('a newer sample', async () => {
      const d = (await diagnostics(serverId, '2.48')).body;
      return d.cpu_details[0].time > first.cpu_details[0].time ? d : undefined;
    }, 30_000, 1000);
    expect(later.uptime).toBeGreaterThanOrEqual(first.uptime);
    expect(later.cpu_details[0].utilisation).toEqual(expect.any(Number));
    expect(later.cpu_details[0].utilisation).toBeLessThanOrEqual(100);
  }, 120_000);
});
