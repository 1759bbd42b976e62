import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstanceActionName, VmState } from '../../shared/domain/instance-states.js';
import { newAction, recordAction } from '../../shared/store/instance-actions.js';
import { createInstances, getInstance, removeInstance } from '../../shared/store/instances.js';
import { adminCredentials, api, createProjectUser, issueToken, openstack, openstackJson, waitFor, type Credentials } from '../support/cloud.js';
import { newInstance, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';

/**
 * The microversions 2.38 to 2.100 of server actions, instance actions, external events and the
 * server sub-resources (topology, shares, consoles, interfaces, virtual interfaces), each checked
 * at the version below it and at its own.
 */
type Body = Record<string, any>;

const SERVERS = '/compute/v2.1/servers';
const at = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });

let member: Credentials;
let memberToken: string;
let adminToken: string;
let imageId: string;
let otherImageId: string;
let serverId: string;
let projectId: string;
const booted: string[] = [];
const written: string[] = [];
const images: string[] = [];

const show = async (id: string, version: string, token = memberToken): Promise<Body> => {
  const res = await api('GET', `${SERVERS}/${id}`, { token, headers: at(version) });
  expect(res.status).toBe(200);
  return res.body.server;
};
const settled = (id: string, status = 'ACTIVE') =>
  waitFor(`server ${id} ${status}`, async () => {
    const s = await show(id, '2.1', adminToken);
    if (s.status === 'ERROR' && status !== 'ERROR') throw new Error(`server went to ERROR: ${JSON.stringify(s.fault)}`);
    return s.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  });
const act = (id: string, version: string, body: unknown, token = memberToken) => api('POST', `${SERVERS}/${id}/action`, { token, headers: at(version), body });

async function boot(server: Record<string, unknown> = {}): Promise<string> {
  const body = { server: { name: uniqueName('act2x'), imageRef: imageId, flavorRef: '1', networks: 'none', ...server } };
  const res = await api('POST', SERVERS, { token: memberToken, headers: at('2.37'), body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  booted.push(res.body.server.id);
  await settled(res.body.server.id);
  return res.body.server.id;
}

async function writeInstance(fields: Parameters<typeof newInstance>[1] = {}) {
  const instance = newInstance(projectId, { vm_state: VmState.ACTIVE, task_state: null, task_deadline: null, ...fields });
  await createInstances([instance], { instances: 100, cores: 100, ram: 100_000 });
  written.push(instance.id);
  return instance;
}

beforeAll(async () => {
  member = await createProjectUser(uniqueName('act2x'));
  memberToken = await issueToken(member);
  adminToken = await issueToken(adminCredentials());
  imageId = await uploadTestImage(uniqueName('act2x-image'), adminToken);
  otherImageId = await uploadTestImage(uniqueName('act2x-other'), adminToken);
  await openstack(['image', 'set', '--property', 'os_distro=fedora', otherImageId]);
  serverId = await boot();
  projectId = (await show(serverId, '2.1')).tenant_id;
});

afterAll(async () => {
  for (const id of written) {
    const instance = await getInstance(id);
    if (instance) await removeInstance(instance);
  }
  for (const id of booted) await openstack(['server', 'delete', '--wait', id]).catch(() => undefined);
  for (const id of [...images, imageId, otherImageId]) if (id) await openstack(['image', 'delete', id]).catch(() => undefined);
});

describe('2.45: createImage', () => {
  it('answers with a Location at 2.44 and with {"image_id"} and no Location at 2.45', async () => {
    const old = await act(serverId, '2.44', { createImage: { name: uniqueName('snap-244') } });
    expect(old.status).toBe(202);
    const location = old.headers.get('location')!;
    expect(location).toMatch(/\/image\/v2\/images\/[0-9a-f-]{36}$/);
    images.push(location.split('/').pop()!);
    await settled(serverId);

    const res = await act(serverId, '2.45', { createImage: { name: uniqueName('snap-245') } });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBeNull();
    expect(res.body).toEqual({ image_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    images.push(res.body.image_id);
    await settled(serverId);
    const image = await api('GET', `/image/v2/images/${res.body.image_id}`, { token: memberToken });
    expect(image.body.instance_uuid).toBe(serverId);
  });
});

describe('rebuild: 2.54 key_name, 2.57 user_data, 2.63 certificates, 2.71 groups, 2.75 full view, 2.90 hostname, 2.98 image properties', () => {
  let keyName: string;
  beforeAll(async () => {
    keyName = uniqueName('act2x-key');
    const made = await api('POST', '/compute/v2.1/os-keypairs', { token: memberToken, body: { keypair: { name: keyName } } });
    expect(made.status).toBe(200);
  });

  const rebuild = (id: string, version: string, fields: Record<string, unknown>) => act(id, version, { rebuild: { imageRef: otherImageId, ...fields } });

  it('refuses each field below its version', async () => {
    const id = await boot();
    const cases: [string, Record<string, unknown>][] = [
      ['2.53', { key_name: keyName }],
      ['2.56', { user_data: Buffer.from('x').toString('base64') }],
      ['2.62', { trusted_image_certificates: ['c'] }],
      ['2.89', { hostname: 'h1' }],
    ];
    for (const [version, field] of cases) {
      const res = await rebuild(id, version, field);
      expect(res.status, `${version} ${JSON.stringify(field)}`).toBe(400);
    }
    const personality = [{ path: '/etc/motd', contents: Buffer.from('hi').toString('base64') }];
    expect((await rebuild(id, '2.57', { personality })).status).toBe(400);
    expect((await rebuild(id, '2.90', { hostname: 'a.example.com' })).status).toBe(400);
    const badKey = await rebuild(id, '2.54', { key_name: 'no-such-key' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.badRequest.message).toBe('Invalid key_name provided.');
  });

  it('sets what each version takes and shows it in the response', async () => {
    const id = await boot();

    // Below 2.54 the brief response has no key_name; 2.54 shows it even below 2.75.
    const brief = await rebuild(id, '2.53', {});
    expect(brief.status).toBe(202);
    expect(brief.body.server).not.toHaveProperty('key_name');
    await settled(id);
    const withKey = await rebuild(id, '2.54', { key_name: keyName });
    expect(withKey.body.server.key_name).toBe(keyName);
    expect((await getInstance(id))!.key_data).toMatch(/^ssh-/);
    expect(withKey.body.server).not.toHaveProperty('user_data');
    await settled(id);

    const userData = Buffer.from('#!/bin/sh\necho rebuilt\n').toString('base64');
    const res = await rebuild(id, '2.100', { user_data: userData, key_name: null, trusted_image_certificates: ['cert-1'], hostname: 'rebuilt.example.com' });
    expect(res.status).toBe(202);
    const s = res.body.server;
    expect(s).toMatchObject({
      key_name: null,
      user_data: userData,
      trusted_image_certificates: ['cert-1'],
      'OS-EXT-SRV-ATTR:hostname': 'rebuilt.example.com',
      server_groups: [],
      locked_reason: null,
      pinned_availability_zone: null,
      scheduler_hints: {},
      image: { id: otherImageId, properties: { os_distro: 'fedora' } },
      // 2.75: the full server, as show gives it.
      'OS-EXT-STS:vm_state': 'active',
      security_groups: expect.any(Array),
    });
    expect(s).not.toHaveProperty('OS-EXT-SRV-ATTR:user_data');
    await settled(id);
    const instance = (await getInstance(id))!;
    expect(instance).toMatchObject({ user_data: userData, key_name: null, key_data: null, hostname: 'rebuilt.example.com' });
    // null resets the certificates and user data.
    const reset = await rebuild(id, '2.63', { trusted_image_certificates: null, user_data: null });
    expect(reset.body.server).toMatchObject({ trusted_image_certificates: null, user_data: null });
    await settled(id);
  });
});

describe('instance actions: 2.51 events for members, 2.58 paging, 2.62 host ids, 2.66 changes-before, 2.84 details', () => {
  let id: string;
  let failed: string;
  const ACTIONS = (server: string) => `${SERVERS}/${server}/os-instance-actions`;

  beforeAll(async () => {
    const instance = await writeInstance({ host: 'act2x-host' });
    id = instance.id;
    const base = { instanceId: id, userId: 'u', projectId };
    await recordAction(newAction({ ...base, action: InstanceActionName.CREATE, requestId: 'req-act2x-1' }, '2024-01-01T00:00:00.000Z'));
    const reboot = newAction({ ...base, action: InstanceActionName.REBOOT, requestId: 'req-act2x-2' }, '2024-02-01T00:00:00.000Z');
    for (const e of Object.values(reboot.events)) Object.assign(e, { finish_time: '2024-02-01T00:00:05.000Z', result: 'Error', traceback: 'guest vanished', done: true });
    reboot.message = 'Error';
    await recordAction(reboot);
    failed = 'req-act2x-2';
    await recordAction(newAction({ ...base, action: InstanceActionName.STOP, requestId: 'req-act2x-3' }, '2024-03-01T00:00:00.000Z'));
  });

  const get = (path: string, version: string, token = memberToken) => api('GET', path, { token, headers: at(version) });

  it('shows events to members from 2.51 (without tracebacks), host ids from 2.62, details from 2.84', async () => {
    expect((await get(`${ACTIONS(id)}/${failed}`, '2.50')).body.instanceAction).not.toHaveProperty('events');
    const v251 = (await get(`${ACTIONS(id)}/${failed}`, '2.51')).body.instanceAction;
    expect(v251.events).toHaveLength(1);
    expect(v251.events[0]).toMatchObject({ result: 'Error' });
    expect(v251.events[0]).not.toHaveProperty('traceback');
    expect(v251.events[0]).not.toHaveProperty('hostId');

    const v262 = (await get(`${ACTIONS(id)}/${failed}`, '2.62')).body.instanceAction.events[0];
    expect(v262.hostId).toMatch(/^[0-9a-f]{56}$/);
    expect(v262).not.toHaveProperty('host');
    const admin262 = (await get(`${ACTIONS(id)}/${failed}`, '2.62', adminToken)).body.instanceAction.events[0];
    expect(admin262).toMatchObject({ host: 'act2x-host', hostId: v262.hostId, traceback: 'guest vanished' });
    expect(admin262).not.toHaveProperty('details');

    const v284 = (await get(`${ACTIONS(id)}/${failed}`, '2.84')).body.instanceAction.events[0];
    expect(v284.details).toBe('guest vanished');
  });

  it('pages and filters from 2.58 (with updated_at), refuses unknown parameters, and takes changes-before from 2.66', async () => {
    const old = (await get(`${ACTIONS(id)}?limit=1`, '2.57')).body;
    expect(old.instanceActions).toHaveLength(3);
    expect(old.instanceActions[0]).not.toHaveProperty('updated_at');

    const page = (await get(`${ACTIONS(id)}?limit=2`, '2.58')).body;
    expect(page.instanceActions.map((a: Body) => a.request_id)).toEqual(['req-act2x-3', 'req-act2x-2']);
    expect(page.instanceActions[0].updated_at).toBe('2024-03-01T00:00:00.000000');
    expect(page.links[0].rel).toBe('next');
    expect(page.links[0].href).toContain('marker=req-act2x-2');
    const next = (await get(`${ACTIONS(id)}?limit=2&marker=req-act2x-2`, '2.58')).body;
    expect(next.instanceActions.map((a: Body) => a.request_id)).toEqual(['req-act2x-1']);
    expect(next).not.toHaveProperty('links');
    expect((await get(`${ACTIONS(id)}?marker=nope`, '2.58')).status).toBe(400);
    expect((await get(`${ACTIONS(id)}?colour=blue`, '2.58')).status).toBe(400);

    const since = (await get(`${ACTIONS(id)}?changes-since=2024-02-01T00:00:00Z`, '2.58')).body;
    expect(since.instanceActions.map((a: Body) => a.request_id)).toEqual(['req-act2x-3', 'req-act2x-2']);
    expect((await get(`${ACTIONS(id)}?changes-before=2024-02-01T00:00:00Z`, '2.58')).status).toBe(400);
    const before = (await get(`${ACTIONS(id)}?changes-before=2024-02-01T00:00:00Z`, '2.66')).body;
    expect(before.instanceActions.map((a: Body) => a.request_id)).toEqual(['req-act2x-2', 'req-act2x-1']);
    const crossed = await get(`${ACTIONS(id)}?changes-since=2024-03-01T00:00:00Z&changes-before=2024-02-01T00:00:00Z`, '2.66');
    expect(crossed.status).toBe(400);
  });
});

describe('os-server-external-events: the names of each version', () => {
  const send = (version: string, events: unknown[]) => api('POST', '/compute/v2.1/os-server-external-events', { token: adminToken, headers: at(version), body: { events } });

  it('takes volume-extended from 2.51, power-update from 2.76, accelerator-request-bound from 2.82, volume-reimaged from 2.93', async () => {
    const cases: [string, string, string][] = [
      ['volume-extended', '2.50', '2.51'],
      ['power-update', '2.75', '2.76'],
      ['accelerator-request-bound', '2.81', '2.82'],
      ['volume-reimaged', '2.92', '2.93'],
    ];
    for (const [name, below, from] of cases) {
      expect((await send(below, [{ name, server_uuid: serverId, tag: 'POWER_OFF' }])).status, `${name} at ${below}`).toBe(400);
      const res = await send(from, [{ name, server_uuid: serverId, tag: 'POWER_OFF' }]);
      expect(res.status, `${name} at ${from}`).toBe(200);
      expect(res.body.events[0]).toMatchObject({ name, code: 200, status: 'completed' });
    }
  });

  it('fails an event that needs a tag without one (400 in the event) and answers 207 for any failure', async () => {
    const res = await send('2.76', [
      { name: 'power-update', server_uuid: serverId },
      { name: 'network-changed', server_uuid: serverId },
    ]);
    expect(res.status).toBe(207);
    expect(res.body.events.map((e: Body) => [e.code, e.status])).toEqual([
      [400, 'failed'],
      [200, 'completed'],
    ]);
    const unknown = await send('2.1', [{ name: 'network-changed', server_uuid: '00000000-0000-4000-8000-000000000000' }]);
    expect(unknown.status).toBe(207);
    expect(unknown.body.events[0]).toMatchObject({ code: 404, status: 'failed' });
  });
});

describe('server sub-resources: 2.78 topology, 2.97 shares, 2.99 spice-direct, 2.44 nova-network proxies', () => {
  it('2.78: a server without NUMA topology has no nodes; 404 below 2.78', async () => {
    expect((await api('GET', `${SERVERS}/${serverId}/topology`, { token: memberToken, headers: at('2.77') })).status).toBe(404);
    const res = await api('GET', `${SERVERS}/${serverId}/topology`, { token: memberToken, headers: at('2.78') });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ nodes: [], pagesize_kb: null });
  });

  it('2.97: no shares, and an attach refused as on computes without virtiofs; 404 below 2.97', async () => {
    const SHARES = `${SERVERS}/${serverId}/shares`;
    expect((await api('GET', SHARES, { token: memberToken, headers: at('2.96') })).status).toBe(404);
    const list = await api('GET', SHARES, { token: memberToken, headers: at('2.97') });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ shares: [] });
    const shareId = '11111111-2222-4333-8444-555555555555';
    expect((await api('GET', `${SHARES}/${shareId}`, { token: memberToken, headers: at('2.97') })).status).toBe(404);
    const running = await api('POST', SHARES, { token: memberToken, headers: at('2.97'), body: { share: { share_id: shareId } } });
    expect(running.status).toBe(409);
    expect(running.body.conflictingRequest.message).toContain("Cannot 'create share' instance");
    const stopped = await writeInstance({ vm_state: VmState.STOPPED, power_state: 4 });
    const attach = await api('POST', `${SERVERS}/${stopped.id}/shares`, { token: memberToken, headers: at('2.97'), body: { share: { share_id: shareId } } });
    expect(attach.status).toBe(409);
    expect(attach.body.conflictingRequest.message).toBe('Feature not supported because either compute or instance are not configured correctly.');
    expect((await api('POST', SHARES, { token: memberToken, headers: at('2.97'), body: { share: { share_id: 'x' } } })).status).toBe(400);
  });

  it('2.99: spice-direct is a known type that is not offered', async () => {
    const body = { remote_console: { protocol: 'spice', type: 'spice-direct' } };
    const old = await api('POST', `${SERVERS}/${serverId}/remote-consoles`, { token: memberToken, headers: at('2.98'), body });
    expect(old.status).toBe(400);
    expect(old.body.badRequest.message).toContain('remote_console/type');
    const res = await api('POST', `${SERVERS}/${serverId}/remote-consoles`, { token: memberToken, headers: at('2.99'), body });
    expect(res.status).toBe(400);
    expect(res.body.badRequest.message).toBe('Unavailable console type spice-direct.');
  });

  it('2.44: the nova-network proxies are gone: 404 actions from 2.44, os-virtual-interfaces 410 (removed in Rocky)', async () => {
    for (const action of ['addFixedIp', 'removeFixedIp', 'addFloatingIp', 'removeFloatingIp']) {
      const res = await act(serverId, '2.44', { [action]: {} });
      expect(res.status, action).toBe(404);
    }
    const vifs = await api('GET', `${SERVERS}/${serverId}/os-virtual-interfaces`, { token: memberToken, headers: at('2.43') });
    expect(vifs.status).toBe(410);
  });
});

describe('os-interface: 2.49 tags at attach, 2.70 tags in the views', () => {
  it('refuses a tag at 2.48, takes one at 2.49, and shows it from 2.70', async () => {
    const made = await api('POST', '/networking/v2.0/networks', { token: memberToken, body: { network: { name: uniqueName('act2x-net') } } });
    const network = made.body.network;
    const subnet = { network_id: network.id, ip_version: 4, cidr: '192.168.61.0/24', name: uniqueName('act2x-sub') };
    expect((await api('POST', '/networking/v2.0/subnets', { token: memberToken, body: { subnet } })).status).toBe(201);
    try {
      const IFACE = `${SERVERS}/${serverId}/os-interface`;
      const refused = await api('POST', IFACE, { token: memberToken, headers: at('2.48'), body: { interfaceAttachment: { net_id: network.id, tag: 'data' } } });
      expect(refused.status).toBe(400);
      const res = await api('POST', IFACE, { token: memberToken, headers: at('2.49'), body: { interfaceAttachment: { net_id: network.id, tag: 'data' } } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.interfaceAttachment).not.toHaveProperty('tag');
      const portId = res.body.interfaceAttachment.port_id;
      expect((await getInstance(serverId))!.device_tags[portId]).toBe('data');
      const old = await api('GET', `${IFACE}/${portId}`, { token: memberToken, headers: at('2.69') });
      expect(old.body.interfaceAttachment).not.toHaveProperty('tag');
      const shown = await api('GET', `${IFACE}/${portId}`, { token: memberToken, headers: at('2.70') });
      expect(shown.body.interfaceAttachment.tag).toBe('data');
      const list = await api('GET', IFACE, { token: memberToken, headers: at('2.70') });
      expect(list.body.interfaceAttachments.find((a: Body) => a.port_id === portId).tag).toBe('data');
      const detach = await api('DELETE', `${IFACE}/${portId}`, { token: memberToken, headers: at('2.70') });
      expect(detach.status).toBe(202);
      expect((await getInstance(serverId))!.device_tags).not.toHaveProperty(portId);
    } finally {
      await api('DELETE', `/networking/v2.0/networks/${network.id}`, { token: memberToken }).catch(() => undefined);
    }
  }, 120_000);
});
