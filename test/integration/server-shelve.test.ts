import '../support/cloud-env.js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAgent } from '../../infra/local/agents.js';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { handler as sweeper } from '../../functions/sweeper/handler.js';
import { getImage } from '../../shared/store/images.js';
import { getHost } from '../../shared/store/hosts.js';
import { getInstance, updateInstance } from '../../shared/store/instances.js';
import { api, issueToken, waitFor } from '../support/cloud.js';
import { hostInventory, hostUsage, retireHost, uniqueName } from '../support/fixtures.js';
import { deliver } from '../support/queue-events.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';
import { startTestAgent } from '../support/test-agents.js';

/**
 * shelve / shelveOffload / unshelve on two fake-driver hosts alone in a zone, under the cloud's
 * default shelved_offload_time (0: a shelve offloads at once). The disk's content across an
 * unshelve on another host is checked on a real guest in test/e2e/real-guests.test.ts.
 */
type Body = Record<string, any>;
const zone = uniqueName('shelve-zone');
const hosts = [uniqueName('shelve-a'), uniqueName('shelve-b')];
/** A host registered in a zone of its own that no agent serves: a spawn sent there is lost. */
const ghost = uniqueName('shelve-ghost');
const stateDir = mkdtempSync(join(tmpdir(), 'novaless-shelve-'));
const agents: ChildProcess[] = [];
let adminToken: string;
let member: ProjectMember;
let imageId: string;

const at = (v: string) => ({ 'OpenStack-API-Version': `compute ${v}` });
const action = (id: string, body: unknown, version = '2.1', token = member.token) =>
  api('POST', `/compute/v2.1/servers/${id}/action`, { token, headers: at(version), body });
const show = async (id: string): Promise<Body> => (await api('GET', `/compute/v2.1/servers/${id}`, { token: adminToken, headers: at('2.96') })).body.server;
const settled = (id: string, status: string) =>
  waitFor(`server ${status}`, async () => {
    const s = await show(id);
    if (s.status === 'ERROR') throw new Error(`server in ERROR: ${JSON.stringify(s.fault)}`);
    return s.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  }, 60_000);
const shelvedImages = async (name: string): Promise<Body[]> =>
  (await api('GET', `/image/v2/images?name=${encodeURIComponent(`${name}-shelved`)}`, { token: member.token })).body.images;
const instancesInUse = async () =>
  (await api('GET', `/compute/v2.1/os-quota-sets/${member.projectId}/detail`, { token: adminToken })).body.quota_set.instances.in_use as number;

async function boot(extra: Body = {}): Promise<Body> {
  const name = uniqueName('shelved');
  const res = await api('POST', '/compute/v2.1/servers', {
    token: member.token,
    headers: at('2.37'),
    body: { server: { name, imageRef: imageId, flavorRef: '1', networks: 'none', availability_zone: zone, ...extra } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return settled(res.body.server.id, 'ACTIVE');
}

beforeAll(async () => {
  adminToken = await issueToken();
  for (const host of hosts) agents.push(startTestAgent({ host, zone, vcpus: 2, memoryMb: 2048, diskGb: 20, stateDir }));
  [member, imageId] = await Promise.all([createProjectMember(uniqueName('shelve-p'), adminToken), uploadTestImage(uniqueName('shelve-image'), adminToken)]);
  await waitFor('both hosts registered', async () => (await Promise.all(hosts.map(getHost))).every(Boolean), 60_000);
});

afterAll(async () => {
  await Promise.all(agents.map((a) => stopAgent(a, 3_000)));
  for (const host of [...hosts, ghost]) if (await getHost(host)) await retireHost(host);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('shelve, offload and unshelve', () => {
  it('shelve offloads at once, releasing the host and keeping the quota; unshelve to another host spawns from the image, then deletes it', async () => {
    const server = await boot();
    const source = server['OS-EXT-SRV-ATTR:host'] as string;
    const target = hosts.find((h) => h !== source)!;
    const inUse = await instancesInUse();

    expect((await action(server.id, { shelve: null })).status).toBe(202);
    const offloaded = await settled(server.id, 'SHELVED_OFFLOADED');
    expect(offloaded['OS-EXT-SRV-ATTR:host']).toBeNull();
    expect(offloaded['OS-EXT-SRV-ATTR:hypervisor_hostname']).toBeNull();
    expect(offloaded['OS-EXT-AZ:availability_zone']).toBe(zone);
    expect(await hostUsage(source)).toMatchObject({ used_vcpus: 0, used_memory_mb: 0, running_vms: 0 });
    expect(await instancesInUse()).toBe(inUse); // Nova keeps counting an offloaded server
    const [image] = await shelvedImages(server.name);
    expect(image).toMatchObject({ status: 'active', image_type: 'snapshot', instance_uuid: server.id });

    // A second offload, or a shelve, of an offloaded server is refused.
    expect((await action(server.id, { shelveOffload: null })).status).toBe(409);
    expect((await action(server.id, { shelve: null })).status).toBe(409);

    expect((await action(server.id, { unshelve: { host: target } }, '2.91', adminToken)).status).toBe(202);
    const back = await settled(server.id, 'ACTIVE');
    expect(back['OS-EXT-SRV-ATTR:host']).toBe(target);
    expect(await hostUsage(target)).toMatchObject({ used_vcpus: 1, running_vms: 1 });
    expect(await hostUsage(source)).toMatchObject({ used_vcpus: 0, running_vms: 0 });
    await waitFor('the shelved image deleted', async () => (await api('GET', `/image/v2/images/${image.id}`, { token: member.token })).status === 404, 30_000);
    expect(await instancesInUse()).toBe(inUse);

    const actions = (await api('GET', `/compute/v2.1/servers/${server.id}/os-instance-actions`, { token: member.token })).body.instanceActions as Body[];
    expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(['create', 'shelve', 'unshelve']));
    const unshelveAction = actions.find((a) => a.action === 'unshelve')!;
    const events = (await api('GET', `/compute/v2.1/servers/${server.id}/os-instance-actions/${unshelveAction.request_id}`, { token: adminToken, headers: at('2.51') })).body
      .instanceAction.events as Body[];
    expect(events).toEqual([expect.objectContaining({ event: 'compute_unshelve_instance', result: 'Success' })]);

    await api('DELETE', `/compute/v2.1/servers/${server.id}`, { token: member.token });
    await waitFor('deleted', async () => (await api('GET', `/compute/v2.1/servers/${server.id}`, { token: adminToken })).status === 404);
  });

  it('unshelve goes through the scheduler: an anti-affinity group sends it back to its own host, and with no host left it stays offloaded', async () => {
    const group = (await api('POST', '/compute/v2.1/os-server-groups', { token: member.token, body: { server_group: { name: uniqueName('sg'), policies: ['anti-affinity'] } } }))
      .body.server_group;
    const hint = { 'os:scheduler_hints': { group: group.id } };
    const a = await bootInGroup(hint);
    const b = await bootInGroup(hint);
    const hostOfA = a['OS-EXT-SRV-ATTR:host'];
    expect(b['OS-EXT-SRV-ATTR:host']).not.toBe(hostOfA);

    expect((await action(a.id, { shelve: null })).status).toBe(202);
    await settled(a.id, 'SHELVED_OFFLOADED');
    // Only a's old host keeps the group's policy: the unshelve lands there again (a host that destroyed the guest spawns it anew).
    expect((await action(a.id, { unshelve: null })).status).toBe(202);
    expect((await settled(a.id, 'ACTIVE'))['OS-EXT-SRV-ATTR:host']).toBe(hostOfA);

    // Asked onto b's host, the group's filter refuses it: the server stays offloaded, its image kept.
    expect((await action(a.id, { shelve: null })).status).toBe(202);
    await settled(a.id, 'SHELVED_OFFLOADED');
    expect((await action(a.id, { unshelve: { host: b['OS-EXT-SRV-ATTR:host'] } }, '2.91', adminToken)).status).toBe(202);
    const refused = await waitFor('the unshelve refused', async () => {
      const actions = (await api('GET', `/compute/v2.1/servers/${a.id}/os-instance-actions`, { token: member.token })).body.instanceActions as Body[];
      const last = actions.find((x) => x.action === 'unshelve' && x.message === 'Error');
      const s = await show(a.id);
      return last && s['OS-EXT-STS:task_state'] === null ? s : undefined;
    });
    expect(refused.status).toBe('SHELVED_OFFLOADED');
    expect(await shelvedImages(a.name)).toHaveLength(1);
    expect(await hostUsage(b['OS-EXT-SRV-ATTR:host'])).toMatchObject({ running_vms: 1 });
    for (const s of [a, b]) await api('DELETE', `/compute/v2.1/servers/${s.id}`, { token: member.token });
  });

  it('unshelve of a SHELVED server powers it on where it is; past its shelved_offload_time the sweeper offloads one', async () => {
    // The cloud offloads at once (shelved_offload_time 0): a server that kept its host is made
    // here from one that runs, as a shelve with a positive offload time leaves it.
    const server = await boot();
    const host = server['OS-EXT-SRV-ATTR:host'] as string;
    const images = await Promise.all([1, 2].map(() => uploadTestImage(uniqueName('shelved-image'), adminToken)));
    const keepHost = async (shelvedImage: string, deadline: string | null) => {
      const record = (await getInstance(server.id))!;
      const shelved = { image_id: shelvedImage, image_meta: { ...record.image_meta, id: shelvedImage }, at: new Date().toISOString(), host, unshelving_since: null };
      expect(await updateInstance(record, { vm_state: 'shelved', task_deadline: deadline, shelved })).toBeDefined();
    };

    await keepHost(images[0], new Date(Date.now() + 3_600_000).toISOString());
    expect((await show(server.id)).status).toBe('SHELVED');
    await sweeper();
    expect((await show(server.id)).status).toBe('SHELVED'); // not due yet
    expect((await action(server.id, { unshelve: null })).status).toBe(202);
    expect((await settled(server.id, 'ACTIVE'))['OS-EXT-SRV-ATTR:host']).toBe(host);
    await waitFor('the shelved image deleted', async () => !(await getImage(images[0], true)), 30_000);

    await keepHost(images[1], new Date(Date.now() - 1000).toISOString());
    await sweeper();
    const offloaded = await settled(server.id, 'SHELVED_OFFLOADED');
    expect(offloaded['OS-EXT-SRV-ATTR:host']).toBeNull();
    expect(await hostUsage(host)).toMatchObject({ used_vcpus: 0, running_vms: 0 });
    // Deleting a shelved server deletes its image too, as Nova does.
    await api('DELETE', `/compute/v2.1/servers/${server.id}`, { token: member.token });
    await waitFor('deleted', async () => (await api('GET', `/compute/v2.1/servers/${server.id}`, { token: adminToken })).status === 404);
    expect(await getImage(images[1], true)).toBeUndefined();
  });

  it("checks an unshelve's zone and host as Nova does", async () => {
    const server = await boot();
    // Zone or host only for an offloaded server.
    const active = await action(server.id, { unshelve: { availability_zone: zone } }, '2.77');
    expect(active.status).toBe(409);
    expect((await action(server.id, { unshelve: null })).status).toBe(409);

    expect((await action(server.id, { shelve: null })).status).toBe(202);
    await settled(server.id, 'SHELVED_OFFLOADED');
    expect((await action(server.id, { unshelve: {} }, '2.77')).status).toBe(400);
    expect((await action(server.id, { unshelve: { host: hosts[0] } }, '2.77')).status).toBe(400);
    expect((await action(server.id, { unshelve: { availability_zone: 'no-such-zone' } }, '2.77')).status).toBe(400);
    const forbidden = await action(server.id, { unshelve: { host: hosts[0] } }, '2.91');
    expect(forbidden.status).toBe(403);
    expect((await action(server.id, { unshelve: { host: 'no-such-host' } }, '2.91', adminToken)).status).toBe(400);
    // The server is pinned to the zone it was booted into: a host of another zone contradicts it.
    const elsewhere = await action(server.id, { unshelve: { host: hosts[0], availability_zone: 'nova' } }, '2.91', adminToken);
    expect([400, 409]).toContain(elsewhere.status);

    // 2.91 unpins it (availability_zone null); it still lands on one of the hosts that have room.
    expect((await action(server.id, { unshelve: { availability_zone: null, host: hosts[1] } }, '2.91', adminToken)).status).toBe(202);
    const back = await settled(server.id, 'ACTIVE');
    expect(back['OS-EXT-SRV-ATTR:host']).toBe(hosts[1]);
    expect(back.pinned_availability_zone).toBeNull();
    await api('DELETE', `/compute/v2.1/servers/${server.id}`, { token: member.token });
  });

  it('an unshelve whose spawn never comes back: the sweeper returns the server to SHELVED_OFFLOADED, its claim released once, its image kept', async () => {
    await deliver(conductor, { type: 'register', host: ghost, at: new Date().toISOString(), inventory: hostInventory(ghost, uniqueName('ghost-zone')) });
    const server = await boot();
    expect((await action(server.id, { shelve: null })).status).toBe(202);
    await settled(server.id, 'SHELVED_OFFLOADED');
    expect((await action(server.id, { unshelve: { availability_zone: null, host: ghost } }, '2.91', adminToken)).status).toBe(202);
    const spawning = await waitFor('the claim on the ghost host', async () => {
      const i = await getInstance(server.id);
      return i?.task_state === 'spawning' && i.claimed_host === ghost ? i : undefined;
    });
    expect(await hostUsage(ghost)).toMatchObject({ used_vcpus: 1, running_vms: 1 });

    expect(await updateInstance(spawning, { task_deadline: new Date(Date.now() - 1000).toISOString() })).toBeDefined();
    await sweeper();
    await sweeper();
    const back = await show(server.id);
    expect(back).toMatchObject({ status: 'SHELVED_OFFLOADED', 'OS-EXT-STS:task_state': null, 'OS-EXT-SRV-ATTR:host': null });
    expect(await hostUsage(ghost)).toMatchObject({ used_vcpus: 0, used_memory_mb: 0, running_vms: 0 });
    expect(await shelvedImages(server.name)).toHaveLength(1);

    // It can be unshelved again, elsewhere.
    expect((await action(server.id, { unshelve: { availability_zone: zone } }, '2.91')).status).toBe(202);
    expect(hosts).toContain((await settled(server.id, 'ACTIVE'))['OS-EXT-SRV-ATTR:host']);
    await api('DELETE', `/compute/v2.1/servers/${server.id}`, { token: member.token });
  });
});

async function bootInGroup(hint: Body): Promise<Body> {
  const res = await api('POST', '/compute/v2.1/servers', {
    token: member.token,
    headers: at('2.37'),
    body: { server: { name: uniqueName('shelved'), imageRef: imageId, flavorRef: '1', networks: 'none', availability_zone: zone }, ...hint },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return settled(res.body.server.id, 'ACTIVE');
}
