import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import type { Instance } from '../../shared/domain/instance.js';
import { VmState } from '../../shared/domain/instance-states.js';
import { setHostForcedDown, setHostStatus } from '../../shared/store/hosts.js';
import { createInstances, getInstance, removeInstance } from '../../shared/store/instances.js';
import { adminCredentials, api, createProjectUser, issueToken, openstack, openstackJson, waitFor, type Credentials } from '../support/cloud.js';
import { backdateHeartbeat, hostInventory, newInstance, retireHost, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { deliver } from '../support/queue-events.js';

/**
 * The server microversions 2.3 to 2.26: each change is checked at the version below it (absent,
 * or refused) and at its own version, against the Nova API samples and Nova's behaviour.
 */
type Server = Record<string, any>;

const SERVERS = '/compute/v2.1/servers';
const at = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });
const USER_DATA = Buffer.from('#!/bin/sh\necho hello\n').toString('base64');
const limits = { instances: 100, cores: 100, ram: 100_000 };

let member: Credentials;
let memberToken: string;
let otherToken: string;
let adminToken: string;
let imageId: string;
let serverId: string;
let projectId: string;
const booted: string[] = [];
const written: string[] = [];

const show = async (id: string, version: string, token = memberToken): Promise<Server> => {
  const res = await api('GET', `${SERVERS}/${id}`, { token, headers: at(version) });
  expect(res.status).toBe(200);
  return res.body.server;
};

/** Waits for a status with no task running. */
const settled = (id: string, status: string) =>
  waitFor(`server ${id} ${status}`, async () => {
    const s = await show(id, '2.1', adminToken);
    if (s.status === 'ERROR' && status !== 'ERROR') throw new Error(`server went to ERROR: ${JSON.stringify(s.fault)}`);
    return s.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  });

async function boot(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const body = { server: { name, imageRef: imageId, flavorRef: '1', networks: 'none', ...extra } };
  // `networks: 'none'` is a 2.37 value.
  const res = await api('POST', SERVERS, { token: memberToken, headers: at('2.37'), body });
  expect(res.status).toBe(202);
  booted.push(res.body.server.id);
  await settled(res.body.server.id, 'ACTIVE');
  return res.body.server.id;
}

/** An instance written straight into the table (for addresses, states and hosts the fake cloud does not give). */
async function writeInstance(fields: Partial<Instance>, project = projectId): Promise<Instance> {
  const instance = newInstance(project, { vm_state: VmState.ACTIVE, task_state: null, task_deadline: null, ...fields });
  await createInstances([instance], limits);
  written.push(instance.id);
  return instance;
}

const listIds = async (query: string, version = '2.1', token = memberToken): Promise<string[]> => {
  const res = await api('GET', `${SERVERS}/detail?${query}`, { token, headers: at(version) });
  expect(res.status).toBe(200);
  return res.body.servers.map((s: Server) => s.id);
};

beforeAll(async () => {
  member = await createProjectUser(uniqueName('mv'));
  const other = await createProjectUser(uniqueName('mv-other'));
  memberToken = await issueToken(member);
  otherToken = await issueToken(other);
  adminToken = await issueToken(adminCredentials());
  imageId = await uploadTestImage(uniqueName('mv-image'), adminToken);
  serverId = await boot(uniqueName('mv-server'), { user_data: USER_DATA });
  projectId = (await show(serverId, '2.1')).tenant_id;
});

afterAll(async () => {
  for (const id of written) {
    const instance = await getInstance(id);
    if (instance) await removeInstance(instance);
  }
  for (const id of booted) await openstack(['server', 'delete', '--wait', id]).catch(() => undefined);
  if (imageId) await openstack(['image', 'delete', imageId]).catch(() => undefined);
});

describe('2.1 without a version header stays as it was', () => {
  it('shows none of the later fields', async () => {
    for (const token of [memberToken, adminToken]) {
      const res = await api('GET', `${SERVERS}/${serverId}`, { token });
      expect(res.headers.get('openstack-api-version')).toBe('compute 2.1');
      const s = res.body.server;
      for (const key of ['locked', 'host_status', 'description', 'tags', 'OS-EXT-SRV-ATTR:reservation_id', 'OS-EXT-SRV-ATTR:user_data']) {
        expect(s).not.toHaveProperty(key);
      }
    }
    const tags = await api('GET', `${SERVERS}/${serverId}/tags`, { token: memberToken });
    expect(tags.status).toBe(404);
  });
});

describe('2.3: more OS-EXT-SRV-ATTR attributes for admins', () => {
  const extended = ['reservation_id', 'launch_index', 'hostname', 'kernel_id', 'ramdisk_id', 'root_device_name', 'user_data'].map((k) => `OS-EXT-SRV-ATTR:${k}`);

  it('are absent at 2.2 and present at 2.3 in show and detail', async () => {
    const before = await show(serverId, '2.2', adminToken);
    expect(before['OS-EXT-SRV-ATTR:host']).toBeTruthy();
    for (const key of extended) expect(before).not.toHaveProperty(key);

    const s = await show(serverId, '2.3', adminToken);
    const instance = (await getInstance(serverId))!;
    expect(s).toMatchObject({
      'OS-EXT-SRV-ATTR:reservation_id': instance.reservation_id,
      'OS-EXT-SRV-ATTR:launch_index': 0,
      'OS-EXT-SRV-ATTR:hostname': instance.hostname,
      'OS-EXT-SRV-ATTR:kernel_id': '',
      'OS-EXT-SRV-ATTR:ramdisk_id': '',
      'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
      'OS-EXT-SRV-ATTR:user_data': USER_DATA,
      'os-extended-volumes:volumes_attached': [],
    });
    expect(s['OS-EXT-SRV-ATTR:reservation_id']).toMatch(/^r-/);

    const detail = await api('GET', `${SERVERS}/detail?all_tenants=1&name=${encodeURIComponent(s.name)}`, { token: adminToken, headers: at('2.3') });
    expect(detail.body.servers).toHaveLength(1);
    expect(detail.body.servers[0]).toMatchObject({ 'OS-EXT-SRV-ATTR:user_data': USER_DATA, 'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda' });
  });

  it('user_data is null when none was given; members never see them', async () => {
    const bare = await writeInstance({});
    expect((await show(bare.id, '2.3', adminToken))['OS-EXT-SRV-ATTR:user_data']).toBeNull();
    const asMember = await show(serverId, '2.37');
    for (const key of [...extended, 'OS-EXT-SRV-ATTR:host']) expect(asMember).not.toHaveProperty(key);
  });

  it('are not in an update response (Nova adds them there only at 2.75)', async () => {
    const res = await api('PUT', `${SERVERS}/${serverId}`, { token: adminToken, headers: at('2.3'), body: { server: {} } });
    expect(res.status).toBe(200);
    // Below 2.75 Nova's update view has no extended attributes at all, not even for admins (show_extended_attr=False).
    for (const key of [...extended, 'OS-EXT-SRV-ATTR:host']) expect(res.body.server).not.toHaveProperty(key);
  });
});

describe('2.5: ip and ip6 filters', () => {
  let both: Instance;
  let v4only: Instance;
  let floatingOnly: Instance;
  const mac = 'fa:16:3e:00:00:01';

  beforeAll(async () => {
    both = await writeInstance({
      addresses: {
        net: [
          { addr: '10.77.0.15', version: 4, type: 'fixed', mac_addr: mac },
          { addr: 'fd77::15', version: 6, type: 'fixed', mac_addr: mac },
          { addr: '172.24.77.9', version: 4, type: 'floating', mac_addr: mac },
        ],
      },
    });
    v4only = await writeInstance({ addresses: { net: [{ addr: '10.77.1.20', version: 4, type: 'fixed', mac_addr: mac }] } });
    floatingOnly = await writeInstance({
      addresses: {
        net: [
          { addr: '192.168.77.3', version: 4, type: 'fixed', mac_addr: mac },
          { addr: '172.24.77.10', version: 4, type: 'floating', mac_addr: mac },
        ],
      },
    });
  });

  it('ip matches fixed IPv4 addresses from their start, as a regular expression, at any version', async () => {
    expect((await listIds('ip=10.77.')).sort()).toEqual([both.id, v4only.id].sort());
    expect(await listIds('ip=10%5C.77%5C.0%5C.15$')).toEqual([both.id]);
    // re.match: anchored at the start.
    expect(await listIds('ip=77.0.15')).toEqual([]);
    // Floating addresses are not matched (Nova looks at the fixed ones only).
    expect(await listIds('ip=172.24.77')).toEqual([]);
    expect(await listIds('ip=10.77.0', '2.37')).toEqual([both.id]);
  });

  it('ip6 is ignored for members before 2.5 and filters from 2.5; admins have it at any version', async () => {
    expect(await listIds('ip6=fd77::')).toEqual(expect.arrayContaining([both.id, v4only.id, floatingOnly.id, serverId]));
    expect(await listIds('ip6=fd77::', '2.4')).toContain(serverId);
    expect(await listIds('ip6=fd77::', '2.5')).toEqual([both.id]);
    expect(await listIds('ip6=fd77::1', '2.5')).toEqual([both.id]);
    expect(await listIds('ip6=10.77', '2.5')).toEqual([]);
    expect(await listIds(`ip6=fd77::&all_tenants=1&project_id=${projectId}`, '2.1', adminToken)).toEqual([both.id]);
  });

  it('ip and ip6 together select servers matching either', async () => {
    expect((await listIds('ip=192.168.77&ip6=fd77', '2.5')).sort()).toEqual([both.id, floatingOnly.id].sort());
  });

  it('a bad regular expression is a 400', async () => {
    for (const [q, v] of [['ip=(', '2.1'], ['ip6=[', '2.5']]) {
      const res = await api('GET', `${SERVERS}?${q}`, { token: memberToken, headers: at(v) });
      expect(res.status).toBe(400);
      expect(res.body.badRequest.message).toContain('Invalid regular expression');
    }
  });
});

describe('2.9: locked', () => {
  it('is absent at 2.8 and a boolean from 2.9 in show, detail, update and rebuild', async () => {
    expect(await show(serverId, '2.8')).not.toHaveProperty('locked');
    expect((await show(serverId, '2.9')).locked).toBe(false);

    expect((await api('POST', `${SERVERS}/${serverId}/action`, { token: memberToken, body: { lock: null } })).status).toBe(202);
    try {
      expect((await show(serverId, '2.9')).locked).toBe(true);
      const detail = await api('GET', `${SERVERS}/detail`, { token: memberToken, headers: at('2.9') });
      expect(detail.body.servers.find((s: Server) => s.id === serverId).locked).toBe(true);
      const update = await api('PUT', `${SERVERS}/${serverId}`, { token: memberToken, headers: at('2.9'), body: { server: {} } });
      expect(update.status).toBe(200);
      expect(update.body.server.locked).toBe(true);
      const update28 = await api('PUT', `${SERVERS}/${serverId}`, { token: memberToken, headers: at('2.8'), body: { server: {} } });
      expect(update28.body.server).not.toHaveProperty('locked');
    } finally {
      expect((await api('POST', `${SERVERS}/${serverId}/action`, { token: memberToken, body: { unlock: null } })).status).toBe(202);
    }
    expect((await show(serverId, '2.9')).locked).toBe(false);
  });
});

describe('2.16: host_status for admins', () => {
  const host = uniqueName('mv-host');
  const zone = uniqueName('mv-zone');

  afterAll(async () => {
    await retireHost(host).catch(() => undefined);
  });

  it('is absent at 2.15 and for members; UP for a server on a live host', async () => {
    expect(await show(serverId, '2.15', adminToken)).not.toHaveProperty('host_status');
    expect(await show(serverId, '2.16')).not.toHaveProperty('host_status');
    expect((await show(serverId, '2.16', adminToken)).host_status).toBe('UP');
  });

  it('follows the host: disabled is MAINTENANCE, missed heartbeats UNKNOWN, forced down DOWN, no host empty', async () => {
    await deliver(conductor, { type: 'register', host, at: new Date().toISOString(), inventory: hostInventory(host, zone) });
    // Disabled at once: no agent serves this host, nothing may be scheduled to it.
    await setHostStatus(host, 'disabled', 'server-microversions test');
    const onHost = await writeInstance({ host, availability_zone: zone });
    const noHost = await writeInstance({ vm_state: VmState.BUILDING });
    const status = async (id: string) => (await show(id, '2.16', adminToken)).host_status;

    expect(await status(onHost.id)).toBe('MAINTENANCE');
    expect(await status(noHost.id)).toBe('');

    await backdateHeartbeat(host, new Date(Date.now() - 3_600_000).toISOString());
    expect(await status(onHost.id)).toBe('MAINTENANCE');
    await setHostStatus(host, 'enabled', null);
    expect(await status(onHost.id)).toBe('UNKNOWN');
    await setHostForcedDown(host, true);
    expect(await status(onHost.id)).toBe('DOWN');
    await setHostStatus(host, 'disabled', 'server-microversions test');
    expect(await status(onHost.id)).toBe('DOWN');

    const detail = await api('GET', `${SERVERS}/detail?all_tenants=1&project_id=${projectId}`, { token: adminToken, headers: at('2.16') });
    const byId = new Map(detail.body.servers.map((s: Server) => [s.id, s.host_status]));
    expect(byId.get(onHost.id)).toBe('DOWN');
    expect(byId.get(noHost.id)).toBe('');
    expect(byId.get(serverId)).toBe('UP');

    const update = await api('PUT', `${SERVERS}/${onHost.id}`, { token: adminToken, headers: at('2.16'), body: { server: {} } });
    expect(update.body.server).not.toHaveProperty('host_status');
  });
});

describe('2.19: description', () => {
  const put = (body: unknown, version: string, id = serverId) => api('PUT', `${SERVERS}/${id}`, { token: memberToken, headers: at(version), body });

  it('is absent at 2.18 and null when never set from 2.19', async () => {
    expect(await show(serverId, '2.18')).not.toHaveProperty('description');
    expect((await show(serverId, '2.19')).description).toBeNull();
  });

  it('PUT sets it (2.19), null removes it, and 2.18 refuses it', async () => {
    const refused = await put({ server: { description: 'x' } }, '2.18');
    expect(refused.status).toBe(400);
    expect(refused.body.badRequest.message).toContain('description');

    const set = await put({ server: { description: 'a described server' } }, '2.19');
    expect(set.status).toBe(200);
    expect(set.body.server).toMatchObject({ id: serverId, description: 'a described server', locked: false });
    expect(set.body.server).not.toHaveProperty('tags');
    expect((await show(serverId, '2.19')).description).toBe('a described server');
    const detail = await api('GET', `${SERVERS}/detail`, { token: memberToken, headers: at('2.19') });
    expect(detail.body.servers.find((s: Server) => s.id === serverId).description).toBe('a described server');

    // Leaving it out keeps it; an empty string is a description too.
    expect((await put({ server: { name: (await show(serverId, '2.1')).name } }, '2.19')).body.server.description).toBe('a described server');
    expect((await put({ server: { description: '' } }, '2.19')).body.server.description).toBe('');
    expect((await put({ server: { description: null } }, '2.19')).body.server.description).toBeNull();
    expect((await show(serverId, '2.19')).description).toBeNull();
  });

  it('bad descriptions are 400s, never 500s', async () => {
    for (const description of ['x'.repeat(256), 42, ['a'], { a: 1 }, 'bell\u0007']) {
      const res = await put({ server: { description } }, '2.19');
      expect(res.status, JSON.stringify(description)).toBe(400);
      expect(res.body.badRequest).toBeDefined();
    }
    expect((await put({ server: { description: 'y'.repeat(255) } }, '2.19')).status).toBe(200);
    expect((await put({ server: { description: null } }, '2.19')).status).toBe(200);
  });

  it('rebuild takes it from 2.19 and shows it in its response', async () => {
    const rebuild = (body: Record<string, unknown>, version: string) =>
      api('POST', `${SERVERS}/${serverId}/action`, { token: memberToken, headers: at(version), body: { rebuild: { imageRef: imageId, ...body } } });
    const refused = await rebuild({ description: 'rebuilt' }, '2.18');
    expect(refused.status).toBe(400);
    expect((await rebuild({ description: 'z'.repeat(256) }, '2.19')).status).toBe(400);

    const res = await rebuild({ description: 'rebuilt' }, '2.26');
    expect(res.status).toBe(202);
    expect(res.body.server).toMatchObject({ id: serverId, description: 'rebuilt', locked: false, tags: [], status: 'REBUILD' });
    expect(res.body.server.adminPass).toBeTruthy();
    expect(res.body.server).not.toHaveProperty('host_status');
    await settled(serverId, 'ACTIVE');
    expect((await show(serverId, '2.19')).description).toBe('rebuilt');

    // Left out, it stays; null removes it.
    expect((await rebuild({}, '2.19')).body.server.description).toBe('rebuilt');
    await settled(serverId, 'ACTIVE');
    expect((await rebuild({ description: null }, '2.19')).body.server.description).toBeNull();
    await settled(serverId, 'ACTIVE');
    const old = await rebuild({}, '2.18');
    expect(old.status).toBe(202);
    expect(old.body.server).not.toHaveProperty('description');
    expect(old.body.server.locked).toBe(false);
    await settled(serverId, 'ACTIVE');
  });
});

describe('2.26: server tags', () => {
  const tagsUrl = (id = serverId) => `${SERVERS}/${id}/tags`;
  const call = (method: string, path: string, opts: { body?: unknown; rawBody?: string; version?: string; token?: string } = {}) =>
    api(method, path, { token: opts.token ?? memberToken, headers: at(opts.version ?? '2.26'), body: opts.body, rawBody: opts.rawBody });

  it('the routes do not exist before 2.26', async () => {
    for (const [method, path] of [
      ['GET', tagsUrl()],
      ['PUT', `${tagsUrl()}/a`],
      ['DELETE', tagsUrl()],
    ]) {
      const res = await call(method, path, { version: '2.25' });
      expect(res.status).toBe(404);
      expect(res.body.itemNotFound).toBeDefined();
    }
    expect(await show(serverId, '2.25')).not.toHaveProperty('tags');
    expect((await show(serverId, '2.26')).tags).toEqual([]);
  });

  it('replace, add, check, delete one and delete all, with Nova statuses', async () => {
    expect((await call('GET', tagsUrl())).body).toEqual({ tags: [] });

    const replaced = await call('PUT', tagsUrl(), { body: { tags: ['tag1', 'tag2', 'tag1'] } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toEqual({ tags: ['tag1', 'tag2'] });

    const added = await call('PUT', `${tagsUrl()}/new%20tag`);
    expect(added.status).toBe(201);
    expect(added.headers.get('location')).toMatch(new RegExp(`/compute/v2\\.1/servers/${serverId}/tags/new%20tag$`));
    expect(added.body).toBeUndefined();
    const again = await call('PUT', `${tagsUrl()}/new%20tag`, { rawBody: 'null' });
    expect(again.status).toBe(204);

    expect((await call('GET', `${tagsUrl()}/tag1`)).status).toBe(204);
    const missing = await call('GET', `${tagsUrl()}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.itemNotFound.message).toBe(`Server ${serverId} has no tag 'nope'`);

    expect((await call('GET', tagsUrl())).body).toEqual({ tags: ['tag1', 'tag2', 'new tag'] });
    expect((await show(serverId, '2.26')).tags).toEqual(['tag1', 'tag2', 'new tag']);
    const detail = await call('GET', `${SERVERS}/detail`);
    expect(detail.body.servers.find((s: Server) => s.id === serverId).tags).toEqual(['tag1', 'tag2', 'new tag']);
    const update = await call('PUT', `${SERVERS}/${serverId}`, { body: { server: {} } });
    expect(update.body.server.tags).toEqual(['tag1', 'tag2', 'new tag']);

    expect((await call('DELETE', `${tagsUrl()}/tag2`)).status).toBe(204);
    const gone = await call('DELETE', `${tagsUrl()}/tag2`);
    expect(gone.status).toBe(404);
    expect(gone.body.itemNotFound.message).toBe(`Instance ${serverId} has no tag 'tag2'`);
    expect((await call('GET', tagsUrl())).body).toEqual({ tags: ['tag1', 'new tag'] });

    expect((await call('DELETE', tagsUrl())).status).toBe(204);
    expect((await call('DELETE', tagsUrl())).status).toBe(204);
    expect((await call('GET', tagsUrl())).body).toEqual({ tags: [] });
  });

  it('bad tags and bodies are 400s, never 500s', async () => {
    const bad = [
      { tags: ['a,b'] },
      { tags: ['a/b'] },
      { tags: [''] },
      { tags: ['x'.repeat(61)] },
      { tags: [1] },
      { tags: 'tag' },
      { tags: Array.from({ length: 51 }, (_, k) => `t${k}`) },
      { tags: [], extra: 1 },
      {},
      null,
    ];
    for (const body of bad) {
      const res = await call('PUT', tagsUrl(), { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.badRequest).toBeDefined();
    }
    expect((await call('PUT', tagsUrl(), { rawBody: '{"tags": [' })).status).toBe(400);

    const comma = await call('PUT', `${tagsUrl()}/a,b`);
    expect(comma.status).toBe(400);
    expect(comma.body.badRequest.message).toContain("Tag 'a,b' is invalid");
    expect((await call('PUT', `${tagsUrl()}/${'x'.repeat(61)}`)).status).toBe(400);
    expect((await call('PUT', `${tagsUrl()}/ok`, { body: {} })).status).toBe(400);
    expect((await call('PUT', `${tagsUrl()}/ok`, { rawBody: '{' })).status).toBe(400);
    // An encoded '/' stays inside its path segment (paths are decoded once, per segment): a tag with '/' in it.
    expect((await call('PUT', `${tagsUrl()}/a%2Fb`)).status).toBe(400);
    for (const tag of ['café', '\u0000', 'with space', '✓']) {
      const res = await call('PUT', `${tagsUrl()}/${encodeURIComponent(tag)}`);
      expect(res.status, tag).toBe(201);
      expect(res.headers.get('location')).toContain(`/tags/${encodeURIComponent(tag)}`);
    }
    expect((await call('GET', tagsUrl())).body.tags).toEqual(['café', '\u0000', 'with space', '✓']);
    await call('DELETE', tagsUrl());
    expect((await call('GET', tagsUrl())).body).toEqual({ tags: [] });
  });

  it('at most 50 tags; at the limit even a tag it has is refused, as in Nova', async () => {
    const fifty = Array.from({ length: 50 }, (_, k) => `t${k}`);
    expect((await call('PUT', tagsUrl(), { body: { tags: fifty } })).status).toBe(200);
    const more = await call('PUT', `${tagsUrl()}/t50`);
    expect(more.status).toBe(400);
    expect(more.body.badRequest.message).toBe('The number of tags exceeded the per-server limit 50');
    expect((await call('PUT', `${tagsUrl()}/t0`)).status).toBe(400);
    expect((await call('DELETE', tagsUrl())).status).toBe(204);
  });

  it('404 for a missing server or another project’s, 409 in a vm_state that allows no tag change', async () => {
    const absent = '8a4b7c6d-0000-4000-8000-000000000000';
    expect((await call('GET', tagsUrl(absent))).status).toBe(404);
    expect((await call('PUT', `${tagsUrl(absent)}/a`)).status).toBe(404);
    expect((await call('GET', tagsUrl('not-a-uuid'))).status).toBe(404);
    for (const [method, path] of [
      ['GET', tagsUrl()],
      ['PUT', `${tagsUrl()}/a`],
      ['DELETE', tagsUrl()],
    ]) {
      expect((await call(method, path, { token: otherToken })).status).toBe(404);
    }

    const building = await writeInstance({ vm_state: VmState.BUILDING });
    const refused = await call('PUT', `${tagsUrl(building.id)}/a`);
    expect(refused.status).toBe(409);
    expect(refused.body.conflictingRequest.message).toBe(`Cannot 'update tag' instance ${building.id} while it is in vm_state building`);
    expect((await call('PUT', tagsUrl(building.id), { body: { tags: ['a'] } })).body.conflictingRequest.message).toContain("'update tags'");
    expect((await call('DELETE', `${tagsUrl(building.id)}/a`)).body.conflictingRequest.message).toContain("'delete tag'");
    expect((await call('DELETE', tagsUrl(building.id))).body.conflictingRequest.message).toContain("'delete tags'");
    // Reading is allowed in any state.
    expect((await call('GET', tagsUrl(building.id))).body).toEqual({ tags: [] });

    for (const vm_state of [VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED]) {
      const i = await writeInstance({ vm_state });
      expect((await call('PUT', `${tagsUrl(i.id)}/ok`)).status, vm_state).toBe(201);
    }
    for (const vm_state of [VmState.ERROR, VmState.SHELVED_OFFLOADED, VmState.RESCUED]) {
      const i = await writeInstance({ vm_state });
      expect((await call('PUT', `${tagsUrl(i.id)}/ok`)).status, vm_state).toBe(409);
    }
  });

  it('a locked server’s tags still change (Nova checks no lock for tags)', async () => {
    const locked = await writeInstance({ locked: true });
    expect((await call('PUT', `${tagsUrl(locked.id)}/while-locked`)).status).toBe(201);
    expect((await call('DELETE', `${tagsUrl(locked.id)}/while-locked`)).status).toBe(204);
  });

  it('parallel PUTs of different tags all survive', async () => {
    const target = await writeInstance({});
    const tags = Array.from({ length: 20 }, (_, k) => `race-${k}`);
    const results = await Promise.all(tags.map((t) => call('PUT', `${tagsUrl(target.id)}/${t}`)));
    expect(results.map((r) => r.status)).toEqual(tags.map(() => 201));
    const after = (await call('GET', tagsUrl(target.id))).body.tags as string[];
    expect([...after].sort()).toEqual([...tags].sort());

    // Adds and deletes racing each other: every add lands, every delete lands.
    const adds = Array.from({ length: 10 }, (_, k) => `late-${k}`);
    const mixed = await Promise.all([
      ...adds.map((t) => call('PUT', `${tagsUrl(target.id)}/${t}`)),
      ...tags.slice(0, 10).map((t) => call('DELETE', `${tagsUrl(target.id)}/${t}`)),
    ]);
    expect(mixed.map((r) => r.status)).toEqual([...adds.map(() => 201), ...tags.slice(0, 10).map(() => 204)]);
    const final = (await call('GET', tagsUrl(target.id))).body.tags as string[];
    expect([...final].sort()).toEqual([...tags.slice(10), ...adds].sort());
  });

  describe('list filters', () => {
    let ab: Instance;
    let bc: Instance;
    let none: Instance;

    beforeAll(async () => {
      ab = await writeInstance({ tags: ['a', 'b'] });
      bc = await writeInstance({ tags: ['b', 'c'] });
      none = await writeInstance({});
    });

    const ids = (query: string, version = '2.26') => listIds(query, version).then((l) => l.filter((id) => [ab.id, bc.id, none.id].includes(id)).sort());
    const sorted = (...l: Instance[]) => l.map((i) => i.id).sort();

    it('tags, tags-any, not-tags and not-tags-any (comma separated) from 2.26', async () => {
      expect(await ids('tags=a,b')).toEqual(sorted(ab));
      expect(await ids('tags=b')).toEqual(sorted(ab, bc));
      expect(await ids('tags=a,c')).toEqual([]);
      expect(await ids('tags-any=a,c')).toEqual(sorted(ab, bc));
      expect(await ids('not-tags=a,b')).toEqual(sorted(bc, none));
      expect(await ids('not-tags=b')).toEqual(sorted(none));
      expect(await ids('not-tags-any=a,c')).toEqual(sorted(none));
      expect(await ids('tags=b&not-tags-any=c')).toEqual(sorted(ab));
      const summary = await api('GET', `${SERVERS}?tags=a`, { token: memberToken, headers: at('2.26') });
      expect(summary.body.servers.map((s: Server) => s.id)).toEqual([ab.id]);
      expect(summary.body.servers[0]).not.toHaveProperty('tags');
    });

    it('are ignored before 2.26', async () => {
      expect(await ids('tags=a', '2.25')).toEqual(sorted(ab, bc, none));
      expect(await ids('not-tags-any=a,b,c', '2.1')).toEqual(sorted(ab, bc, none));
    });
  });
});

describe('the openstack CLI', () => {
  it('sets and filters by tags (2.26) and sets a description (2.19)', async () => {
    const cli = (args: string[]) => openstack(['--os-compute-api-version', '2.26', ...args], member);
    await cli(['server', 'set', '--tag', 'cli-tag', '--description', 'set by the cli', serverId]);
    const shown = await openstackJson(['--os-compute-api-version', '2.26', 'server', 'show', serverId], member);
    expect(shown.tags).toEqual(['cli-tag']);
    expect(shown.description).toBe('set by the cli');
    const listed = await openstackJson<Server[]>(['--os-compute-api-version', '2.26', 'server', 'list', '--tags', 'cli-tag'], member);
    expect(listed.map((s) => s.ID)).toEqual([serverId]);
    await cli(['server', 'unset', '--tag', 'cli-tag', serverId]);
    expect((await show(serverId, '2.26')).tags).toEqual([]);
  });
});
