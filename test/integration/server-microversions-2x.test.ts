import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaDataOf } from '../../host-agent/config-drive/config-drive.js';
import type { Instance } from '../../shared/domain/instance.js';
import { spawnCommandFor } from '../../shared/messages/host-commands.js';
import { VmState } from '../../shared/domain/instance-states.js';
import { createInstances, getInstance, removeInstance } from '../../shared/store/instances.js';
import { adminCredentials, api, createProjectUser, issueToken, openstack, openstackJson, waitFor, type Credentials } from '../support/cloud.js';
import { newInstance, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';

/**
 * The server microversions 2.38 to 2.100 of create, show, list and update: each change checked at
 * the version below it (absent, ignored or refused) and at its own, against Nova's samples and code.
 */
type Server = Record<string, any>;

const SERVERS = '/compute/v2.1/servers';
const at = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });
const limits = { instances: 100, cores: 100, ram: 100_000 };

let member: Credentials;
let memberToken: string;
let adminToken: string;
let imageId: string;
let serverId: string;
let projectId: string;
let host: string;
const booted: string[] = [];
const written: string[] = [];

const show = async (id: string, version: string, token = memberToken): Promise<Server> => {
  const res = await api('GET', `${SERVERS}/${id}`, { token, headers: at(version) });
  expect(res.status).toBe(200);
  return res.body.server;
};

const settled = (id: string, status: string) =>
  waitFor(`server ${id} ${status}`, async () => {
    const s = await show(id, '2.1', adminToken);
    if (s.status === 'ERROR' && status !== 'ERROR') throw new Error(`server went to ERROR: ${JSON.stringify(s.fault)}`);
    return s.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  });

const create = (version: string, server: Record<string, unknown>, extra: Record<string, unknown> = {}, token = memberToken) =>
  api('POST', SERVERS, { token, headers: at(version), body: { server: { name: uniqueName('mv2x'), imageRef: imageId, flavorRef: '1', networks: 'none', ...server }, ...extra } });

async function boot(version: string, server: Record<string, unknown> = {}, extra: Record<string, unknown> = {}, token = memberToken): Promise<string> {
  const res = await create(version, server, extra, token);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  booted.push(res.body.server.id);
  await settled(res.body.server.id, 'ACTIVE');
  return res.body.server.id;
}

async function writeInstance(fields: Partial<Instance>): Promise<Instance> {
  const instance = newInstance(projectId, { vm_state: VmState.ACTIVE, task_state: null, task_deadline: null, ...fields });
  await createInstances([instance], limits);
  written.push(instance.id);
  return instance;
}

const listIds = async (query: string, version: string, token = memberToken): Promise<string[]> => {
  const res = await api('GET', `${SERVERS}/detail?${query}`, { token, headers: at(version) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.servers.map((s: Server) => s.id);
};

beforeAll(async () => {
  member = await createProjectUser(uniqueName('mv2x'));
  memberToken = await issueToken(member);
  adminToken = await issueToken(adminCredentials());
  imageId = await uploadTestImage(uniqueName('mv2x-image'), adminToken);
  await openstack(['image', 'set', '--property', 'os_distro=cirros', '--property', 'hw_disk_bus=virtio', '--property', 'shop_note=not-a-nova-property', imageId]);
  serverId = await boot('2.37');
  const admin = await show(serverId, '2.1', adminToken);
  projectId = admin.tenant_id;
  host = admin['OS-EXT-SRV-ATTR:host'];
});

afterAll(async () => {
  for (const id of written) {
    const instance = await getInstance(id);
    if (instance) await removeInstance(instance);
  }
  for (const id of booted) await openstack(['server', 'delete', '--wait', id]).catch(() => undefined);
  if (imageId) await openstack(['image', 'delete', imageId]).catch(() => undefined);
});

describe('2.38: an unknown status', () => {
  it('lists nothing at 2.37 and is a 400 at 2.38', async () => {
    expect(await listIds('status=NOT_A_STATUS', '2.37')).toEqual([]);
    const res = await api('GET', `${SERVERS}?status=NOT_A_STATUS`, { token: memberToken, headers: at('2.38') });
    expect(res.status).toBe(400);
    expect(res.body.badRequest.message).toBe('Invalid status value');
    expect(await listIds('status=active', '2.38')).toContain(serverId);
  });
});

describe('2.42 / 2.52 / 2.57 / 2.63 / 2.74 / 2.90: what a create takes at each version', () => {
  it('takes a NIC tag in 2.32, not in 2.37 to 2.41, and again from 2.42', async () => {
    const nic = { networks: [{ uuid: '00000000-0000-4000-8000-000000000000', tag: 'nic1' }] };
    const refused = await create('2.41', nic);
    expect(refused.status).toBe(400);
    expect(refused.body.badRequest.message).toContain("'tag' was unexpected");
    // Past the schema, the unknown network is what is refused.
    for (const version of ['2.32', '2.42']) {
      const res = await create(version, nic);
      expect(res.status).toBe(400);
      expect(res.body.badRequest.message).not.toContain('was unexpected');
    }
  });

  it('refuses each field below its version', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['2.51', { tags: ['a'] }],
      ['2.62', { trusted_image_certificates: ['cert-1'] }],
      ['2.73', { host }],
      ['2.89', { hostname: 'my-host' }],
    ];
    for (const [version, field] of cases) {
      const res = await create(version, field);
      expect(res.status, `${version} ${JSON.stringify(field)}`).toBe(400);
      expect(res.body.badRequest.message).toContain(`'${Object.keys(field)[0]}' was unexpected`);
    }
    const personality = { personality: [{ path: '/etc/motd', contents: Buffer.from('hi').toString('base64') }] };
    const old = await create('2.56', personality);
    expect(old.status).toBe(202);
    booted.push(old.body.server.id);
    expect((await create('2.57', personality)).status).toBe(400);
  });

  it('checks hostnames (2.90), FQDNs (2.94), trusted certificates (2.63) and tags (2.52) as Nova does', async () => {
    expect((await create('2.90', { hostname: 'web.example.com' })).status).toBe(400);
    expect((await create('2.90', { hostname: '-bad' })).status).toBe(400);
    const many = await create('2.94', { hostname: 'web', min_count: 2 });
    expect(many.status).toBe(400);
    expect(many.body.badRequest.message).toBe('Unable to allocate a single hostname to multiple instances');
    expect((await create('2.63', { trusted_image_certificates: ['a', 'a'] })).status).toBe(400);
    expect((await create('2.63', { trusted_image_certificates: [] })).status).toBe(400);
    expect((await create('2.52', { tags: ['a/b'] })).status).toBe(400);
    expect((await create('2.52', { tags: Array.from({ length: 51 }, (_, k) => `t${k}`) })).status).toBe(400);
  });

  it('boots with tags, a hostname, a zone and hints, and shows each from its version', async () => {
    const zone = (await show(serverId, '2.1'))['OS-EXT-AZ:availability_zone'];
    const id = await boot(
      '2.100',
      { tags: ['web', 'prod'], hostname: 'web-1.example.com', availability_zone: zone },
      { 'OS-SCH-HNT:scheduler_hints': { same_host: serverId, shop_hint: 'x' } },
    );
    const before = await show(id, '2.51');
    expect(before.tags).toEqual(['web', 'prod']);
    for (const key of ['trusted_image_certificates', 'server_groups', 'locked_reason', 'pinned_availability_zone', 'scheduler_hints', 'OS-EXT-SRV-ATTR:hostname']) {
      expect(before).not.toHaveProperty(key);
    }
    expect(before.image).not.toHaveProperty('properties');
    expect((await show(id, '2.89'))).not.toHaveProperty('OS-EXT-SRV-ATTR:hostname');
    expect((await show(id, '2.95'))).not.toHaveProperty('pinned_availability_zone');
    expect((await show(id, '2.99'))).not.toHaveProperty('scheduler_hints');

    const s = await show(id, '2.100');
    expect(s).toMatchObject({
      tags: ['web', 'prod'],
      trusted_image_certificates: null,
      server_groups: [],
      locked: false,
      locked_reason: null,
      'OS-EXT-SRV-ATTR:hostname': 'web-1.example.com',
      pinned_availability_zone: zone,
      scheduler_hints: { same_host: [serverId], shop_hint: ['x'] },
    });
    expect(s).not.toHaveProperty('OS-EXT-SRV-ATTR:host');
    // The guest is told its hostname: the config drive's and the metadata service's meta_data.json.
    const guest = (await spawnCommandFor((await getInstance(id))!, 'req-mv2x')).guest;
    expect(metaDataOf(guest)).toMatchObject({ hostname: 'web-1.example.com', name: s.name });
    // 2.98: the image's properties Nova knows, not the others.
    expect(s.image.properties).toEqual({ os_distro: 'cirros', hw_disk_bus: 'virtio' });
    // A server booted without them: null certificates and zone, no hints.
    const plain = await show(serverId, '2.100');
    expect(plain).toMatchObject({ trusted_image_certificates: null, pinned_availability_zone: null, scheduler_hints: {} });
  });

  it('keeps trusted certificates (2.63) and aborts the build as Nova does when the image cannot be verified (no key manager)', async () => {
    const res = await create('2.63', { trusted_image_certificates: ['cert-a', 'cert-b'] });
    expect(res.status).toBe(202);
    const id = res.body.server.id;
    booted.push(id);
    const failed = await settled(id, 'ERROR');
    expect(failed.fault.message).toBe(
      `Build of instance ${id} aborted: Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid.`,
    );
    expect(await show(id, '2.62')).not.toHaveProperty('trusted_image_certificates');
    expect((await show(id, '2.63')).trusted_image_certificates).toEqual(['cert-a', 'cert-b']);
    const actions = await api('GET', `${SERVERS}/${id}/os-instance-actions/${res.headers.get('x-openstack-request-id')}`, { token: adminToken, headers: at('2.84') });
    expect(actions.body.instanceAction.events[0]).toMatchObject({ event: 'compute__do_build_and_run_instance', result: 'Error' });
  });

  it('lets admins ask for a host from 2.74, checked against the hosts; 403 for others', async () => {
    const forbidden = await create('2.74', { host });
    expect(forbidden.status).toBe(403);
    const unknown = await create('2.74', { host: 'no-such-host' }, {}, adminToken);
    expect(unknown.status).toBe(400);
    expect(unknown.body.badRequest.message).toBe('Compute host no-such-host could not be found.');
    const both = await create('2.74', { host, availability_zone: `nova:${host}` }, {}, adminToken);
    expect(both.status).toBe(400);
    expect(both.body.badRequest.message).toContain('mutually exclusive');
    const id = await boot('2.74', { host, hypervisor_hostname: host }, {}, adminToken);
    expect((await show(id, '2.74', adminToken))['OS-EXT-SRV-ATTR:host']).toBe(host);
  });
});

describe('2.47: the flavor embedded in the server', () => {
  it('is an id and a link at 2.46, the boot-time flavor with its extra specs at 2.47', async () => {
    const old = await show(serverId, '2.46');
    expect(Object.keys(old.flavor).sort()).toEqual(['id', 'links']);
    const s = await show(serverId, '2.47');
    expect(s.flavor).toEqual({ original_name: 'm1.tiny', vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, extra_specs: {} });
    const detail = await api('GET', `${SERVERS}/detail`, { token: memberToken, headers: at('2.47') });
    expect(detail.body.servers.find((d: Server) => d.id === serverId).flavor.original_name).toBe('m1.tiny');
  });

  it('is what the openstack CLI shows: a name and id at 2.1, the embedded flavor from 2.47', async () => {
    expect((await openstackJson(['server', 'show', serverId], member)).flavor).toBe('m1.tiny (1)');
    const embedded = await openstackJson(['--os-compute-api-version', '2.47', 'server', 'show', serverId], member);
    expect(embedded.flavor).toMatchObject({ original_name: 'm1.tiny', vcpus: 1, ram: 512 });
    // server list --long reads original_name from 2.47 on, where there is no flavor id to look up.
    const rows = await openstackJson<Record<string, unknown>[]>(['--os-compute-api-version', '2.92', 'server', 'list', '--long'], member);
    expect(rows.find((r) => r.ID === serverId)).toMatchObject({ Flavor: 'm1.tiny' });
  });
});

describe('2.66: changes-before', () => {
  it('is ignored at 2.65, filters on updated_at at 2.66, and must not precede changes-since', async () => {
    const past = '2000-01-01T00:00:00Z';
    expect(await listIds(`changes-before=${past}`, '2.65')).toContain(serverId);
    expect(await listIds(`changes-before=${past}`, '2.66')).not.toContain(serverId);
    expect(await listIds(`changes-before=${new Date(Date.now() + 60_000).toISOString()}`, '2.66')).toContain(serverId);
    const res = await api('GET', `${SERVERS}?changes-since=2020-01-02T00:00:00Z&changes-before=2020-01-01T00:00:00Z`, { token: memberToken, headers: at('2.66') });
    expect(res.status).toBe(400);
    expect((await api('GET', `${SERVERS}?changes-before=yesterday`, { token: memberToken, headers: at('2.66') })).status).toBe(400);
  });
});

describe('2.73: lock reasons and the locked filter', () => {
  const lock = (id: string, version: string, body: unknown) => api('POST', `${SERVERS}/${id}/action`, { token: memberToken, headers: at(version), body: { lock: body } });

  it('takes a reason from 2.73, shows it, and forgets it on unlock', async () => {
    const i = await writeInstance({});
    expect((await lock(i.id, '2.72', { locked_reason: 'why' })).status).toBe(202);
    expect((await getInstance(i.id))!.locked_reason ?? null).toBeNull();
    expect((await lock(i.id, '2.73', { locked_reason: '' })).status).toBe(400);
    expect((await lock(i.id, '2.73', { reason: 'x' })).status).toBe(400);
    expect((await lock(i.id, '2.73', { locked_reason: 'maintenance' })).status).toBe(202);
    expect(await show(i.id, '2.72')).not.toHaveProperty('locked_reason');
    expect(await show(i.id, '2.73')).toMatchObject({ locked: true, locked_reason: 'maintenance' });
    const unlock = await api('POST', `${SERVERS}/${i.id}/action`, { token: memberToken, headers: at('2.73'), body: { unlock: null } });
    expect(unlock.status).toBe(202);
    expect(await show(i.id, '2.73')).toMatchObject({ locked: false, locked_reason: null });
    expect((await lock(i.id, '2.73', null)).status).toBe(202);
    expect(await show(i.id, '2.73')).toMatchObject({ locked: true, locked_reason: null });
  });

  it('filters and sorts by locked from 2.73 (ignored before), 400 for a value that is not a boolean', async () => {
    const locked = await writeInstance({ locked: true });
    expect(await listIds('locked=false', '2.72')).toContain(locked.id);
    expect(await listIds('locked=false', '2.73')).not.toContain(locked.id);
    const lockedOnes = await listIds('locked=true', '2.73');
    expect(lockedOnes).toContain(locked.id);
    expect(lockedOnes).not.toContain(serverId);
    expect((await api('GET', `${SERVERS}?locked=maybe`, { token: memberToken, headers: at('2.73') })).status).toBe(400);
    const sorted = await listIds('sort_key=locked&sort_dir=desc', '2.73');
    expect(sorted.indexOf(locked.id)).toBeLessThan(sorted.indexOf(serverId));
  });
});

describe('2.75: strict list queries', () => {
  it('ignores an unknown parameter at 2.74 and refuses it at 2.75', async () => {
    expect(await listIds('shoe_size=42', '2.74')).toContain(serverId);
    const res = await api('GET', `${SERVERS}/detail?shoe_size=42`, { token: memberToken, headers: at('2.75') });
    expect(res.status).toBe(400);
    expect(res.body.badRequest.message).toContain("'shoe_size' was unexpected");
    // Known to the schema but not open to members: dropped, not refused.
    expect(await listIds('host=nowhere', '2.75')).toContain(serverId);
    // A sort key Nova ignores is ignored until 2.75, and refused from it.
    expect(await listIds('sort_key=vcpus', '2.74')).toContain(serverId);
    expect((await api('GET', `${SERVERS}?sort_key=vcpus`, { token: memberToken, headers: at('2.75') })).status).toBe(400);
  });
});

describe('2.83 / 2.90: more filters for members', () => {
  it('are ignored for members before and applied from their version; admins have them all', async () => {
    const keyed = await writeInstance({ key_name: 'mv2x-key', hostname: 'mv2x-special-host', vm_state: VmState.STOPPED });
    expect(await listIds('key_name=mv2x-key', '2.82')).toContain(serverId);
    expect(await listIds('key_name=mv2x-key', '2.83')).toEqual([keyed.id]);
    expect(await listIds('vm_state=stopped', '2.83')).toEqual([keyed.id]);
    expect(await listIds(`user_id=nobody`, '2.83')).toEqual([]);
    expect(await listIds('hostname=mv2x-special', '2.89')).toContain(serverId);
    expect(await listIds('hostname=mv2x-special', '2.90')).toEqual([keyed.id]);
    expect(await listIds(`all_tenants=1&project_id=${projectId}&key_name=mv2x-key`, '2.1', adminToken)).toEqual([keyed.id]);
  });
});

describe('2.71 / 2.75 / 2.90 / 2.94 / 2.96: update', () => {
  const update = (id: string, version: string, server: Record<string, unknown>) =>
    api('PUT', `${SERVERS}/${id}`, { token: memberToken, headers: at(version), body: { server } });

  it('takes a hostname from 2.90 (an FQDN from 2.94) and answers with the full server from 2.75', async () => {
    const i = await writeInstance({});
    expect((await update(i.id, '2.89', { hostname: 'new-name' })).status).toBe(400);
    expect((await update(i.id, '2.90', { hostname: 'new.example.com' })).status).toBe(400);
    const res = await update(i.id, '2.90', { hostname: 'new-name' });
    expect(res.status).toBe(200);
    expect(res.body.server).toMatchObject({ 'OS-EXT-SRV-ATTR:hostname': 'new-name', server_groups: [], locked_reason: null });
    const fqdn = await update(i.id, '2.96', { hostname: 'new.example.com' });
    expect(fqdn.status).toBe(200);
    expect(fqdn.body.server).toMatchObject({ 'OS-EXT-SRV-ATTR:hostname': 'new.example.com', pinned_availability_zone: null, key_name: null });
    const brief = await update(i.id, '2.74', { name: 'brief' });
    expect(brief.body.server).not.toHaveProperty('key_name');
    expect(brief.body.server).toHaveProperty('server_groups');
  });
});

describe('2.72: accelerators', () => {
  it('refuses a flavor asking for a Cyborg device profile, as Nova without Cyborg does', async () => {
    const name = uniqueName('accel');
    const flavor = await openstackJson(['flavor', 'create', '--ram', '512', '--disk', '1', '--vcpus', '1', '--property', 'accel:device_profile=gpu-profile', name]);
    try {
      const res = await create('2.72', { flavorRef: flavor.id });
      expect(res.status).toBe(400);
      expect(res.body.badRequest.message).toBe('Device profile name gpu-profile: Could not communicate with Cyborg.');
    } finally {
      await openstack(['flavor', 'delete', String(flavor.id)]).catch(() => undefined);
    }
  });
});
