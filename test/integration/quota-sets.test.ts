import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, issueToken, openstack, openstackJson } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * os-quota-sets and os-quota-class-sets: admins set a project's limits (or the default class's),
 * and creates enforce them, atomically under parallel requests.
 */
let adminToken: string;
let imageId: string;
type Body = Record<string, any>;

const quotas = (projectId: string, suffix = '') => `/compute/v2.1/os-quota-sets/${projectId}${suffix}`;
const setQuota = (projectId: string, values: Body, token = adminToken, headers?: Record<string, string>) =>
  api('PUT', quotas(projectId), { token, headers, body: { quota_set: values } });
const boot = (p: ProjectMember, extra: Body = {}) =>
  api('POST', '/compute/v2.1/servers', {
    token: p.token,
    headers: { 'OpenStack-API-Version': 'compute 2.37' },
    body: { server: { name: uniqueName('q'), imageRef: imageId, flavorRef: '1', networks: 'none', ...extra } },
  });
const fresh = () => createProjectMember(uniqueName('quota'), adminToken);

beforeAll(async () => {
  adminToken = await issueToken();
  imageId = await uploadTestImage(uniqueName('quota-image'), adminToken);
});

afterAll(async () => {
  const servers = (await api('GET', '/compute/v2.1/servers?all_tenants=1', { token: adminToken })).body.servers as Body[];
  await Promise.all(servers.filter((s) => s.name.startsWith('q-')).map((s) => api('DELETE', `/compute/v2.1/servers/${s.id}`, { token: adminToken })));
});

describe('setting quotas', () => {
  it('lets an admin set and reset a project’s limits, and nobody else', async () => {
    const p = await fresh();
    expect((await setQuota(p.projectId, { instances: 2 }, p.token)).status).toBe(403);
    const set = await setQuota(p.projectId, { instances: 2, cores: '7' });
    expect(set.status).toBe(200);
    expect(set.body.quota_set).toMatchObject({ instances: 2, cores: 7, ram: 51200, floating_ips: -1 });
    expect(set.body.quota_set.id).toBeUndefined();
    expect((await api('GET', quotas(p.projectId), { token: p.token })).body.quota_set).toMatchObject({ id: p.projectId, instances: 2, cores: 7 });
    expect((await api('GET', quotas(p.projectId, '/defaults'), { token: p.token })).body.quota_set).toMatchObject({ instances: 10, cores: 20 });
    expect((await api('GET', quotas(p.projectId, '/detail'), { token: p.token })).body.quota_set.instances).toEqual({ in_use: 0, limit: 2, reserved: 0 });
    expect((await api('DELETE', quotas(p.projectId), { token: p.token })).status).toBe(403);
    expect((await api('DELETE', quotas(p.projectId), { token: adminToken })).status).toBe(202);
    expect((await api('GET', quotas(p.projectId), { token: p.token })).body.quota_set).toMatchObject({ instances: 10, cores: 20 });
  });

  it('refuses bad values and names with 400s, and the network quotas from 2.36', async () => {
    const p = await fresh();
    for (const values of [{ instances: 'many' }, { instances: -2 }, { instances: 1.5 }, { bogus: 1 }]) {
      const res = await setQuota(p.projectId, values);
      expect(res.status, JSON.stringify(values)).toBe(400);
      expect(res.body.badRequest.message).toBeTruthy();
    }
    // Neutron's resources: stored and shown below 2.36 (enforced by nothing here but Neutron's own quotas).
    expect((await setQuota(p.projectId, { floating_ips: 5 })).body.quota_set.floating_ips).toBe(5);
    expect((await setQuota(p.projectId, { floating_ips: 5 }, adminToken, { 'OpenStack-API-Version': 'compute 2.36' })).status).toBe(400);
    expect((await api('PUT', quotas(p.projectId), { token: adminToken, body: { quota: {} } })).status).toBe(400);
  });

  it('refuses a limit below what the project uses, unless forced', async () => {
    const p = await fresh();
    expect((await boot(p)).status).toBe(202);
    expect((await boot(p)).status).toBe(202);
    const below = await setQuota(p.projectId, { instances: 1 });
    expect(below.status).toBe(400);
    expect(below.body.badRequest.message).toBe('Quota limit 1 for instances must be greater than or equal to already used and reserved 2.');
    expect((await setQuota(p.projectId, { instances: 1, force: true })).status).toBe(200);
    expect((await boot(p)).status).toBe(403);
  });

  it("sets one user's limits (Nova's per-user quotas), which that user's creates meet first", async () => {
    const p = await fresh();
    const userId = JSON.parse(Buffer.from(p.token.split('.')[0], 'base64url').toString('utf8')).user_id as string;
    const set = await api('PUT', `${quotas(p.projectId)}?user_id=${userId}`, { token: adminToken, body: { quota_set: { instances: 1 } } });
    expect(set.status).toBe(200);
    expect(set.body.quota_set.instances).toBe(1);
    expect((await api('GET', `${quotas(p.projectId)}?user_id=${userId}`, { token: adminToken })).body.quota_set.instances).toBe(1);
    expect((await api('GET', quotas(p.projectId), { token: adminToken })).body.quota_set.instances).toBe(10);
    expect((await boot(p)).status).toBe(202);
    const over = await boot(p);
    expect(over.status).toBe(403);
    const detail = await api('GET', `${quotas(p.projectId, '/detail')}?user_id=${userId}`, { token: adminToken });
    expect(detail.body.quota_set.instances).toEqual({ in_use: 1, limit: 1, reserved: 0 });
    expect((await api('DELETE', `${quotas(p.projectId)}?user_id=${userId}`, { token: adminToken })).status).toBe(202);
    expect((await boot(p)).status).toBe(202);
  });

  it('works through the openstack CLI (quota set, quota show)', async () => {
    const p = await fresh();
    await openstack(['quota', 'set', '--instances', '3', '--ram', '4096', p.projectId]);
    const shown = await openstackJson<Body>(['quota', 'show', p.projectId]);
    const value = (name: string) => (Array.isArray(shown) ? shown.find((r: Body) => r.Resource === name)?.Limit : shown[name]);
    expect(value('instances')).toBe(3);
    expect(value('ram')).toBe(4096);
  });
});

describe('enforcing quotas', () => {
  it('lets exactly as many parallel creates through as the project’s instances limit', async () => {
    const p = await fresh();
    await setQuota(p.projectId, { instances: 3 });
    const results = await Promise.all(Array.from({ length: 8 }, () => boot(p)));
    expect(results.filter((r) => r.status === 202)).toHaveLength(3);
    expect(results.filter((r) => r.status === 403)).toHaveLength(5);
    expect((await api('GET', '/compute/v2.1/limits', { token: p.token })).body.limits.absolute).toMatchObject({ maxTotalInstances: 3, totalInstancesUsed: 3 });
  });

  it('takes -1 as unlimited', async () => {
    const p = await fresh();
    await setQuota(p.projectId, { instances: -1, cores: -1 });
    const res = await api('POST', '/compute/v2.1/servers', {
      token: p.token,
      headers: { 'OpenStack-API-Version': 'compute 2.37' },
      body: { server: { name: uniqueName('q'), imageRef: imageId, flavorRef: '1', networks: 'none', min_count: 12, max_count: 12, return_reservation_id: true } },
    });
    expect(res.status).toBe(202);
    // Gone at once: a dozen servers should not crowd the hosts the tests beside this one use.
    const mine = (await api('GET', `/compute/v2.1/servers?reservation_id=${res.body.reservation_id}`, { token: p.token })).body.servers as Body[];
    expect(mine).toHaveLength(12);
    await Promise.all(mine.map((s) => api('DELETE', `/compute/v2.1/servers/${s.id}`, { token: p.token })));
  });

  it('enforces metadata_items, key_pairs and server_groups as set', async () => {
    const p = await fresh();
    await setQuota(p.projectId, { metadata_items: 1, key_pairs: 1, server_groups: 1 });
    const meta = await boot(p, { metadata: { a: '1', b: '2' } });
    expect(meta.status).toBe(403);
    expect(meta.body.forbidden.message).toBe('Quota exceeded for metadata_items: Maximum number of metadata items exceeds 1');
    const key = (name: string) => api('POST', '/compute/v2.1/os-keypairs', { token: p.token, body: { keypair: { name } } });
    expect((await key('k1')).status).toBe(200);
    expect((await key('k2')).status).toBe(403);
    const group = () => api('POST', '/compute/v2.1/os-server-groups', { token: p.token, body: { server_group: { name: 'g', policies: ['affinity'] } } });
    expect((await group()).status).toBe(200);
    expect((await group()).status).toBe(403);
  });
});

describe('quota classes', () => {
  it('shows and sets a class, and the default class is what projects start from', async () => {
    const p = await fresh();
    const classes = '/compute/v2.1/os-quota-class-sets';
    expect((await api('GET', `${classes}/default`, { token: p.token })).status).toBe(403);
    const shown = await api('GET', `${classes}/default`, { token: adminToken });
    expect(shown.body.quota_class_set).toMatchObject({ id: 'default', instances: 10, injected_file_path_bytes: 255 });
    expect(shown.body.quota_class_set.server_groups).toBeUndefined();
    // A limit nothing here enforces, so the tests running beside this one are not disturbed.
    try {
      const set = await api('PUT', `${classes}/default`, { token: adminToken, body: { quota_class_set: { injected_file_path_bytes: 300 } } });
      expect(set.status).toBe(200);
      expect(set.body.quota_class_set.injected_file_path_bytes).toBe(300);
      expect((await api('GET', quotas(p.projectId), { token: p.token })).body.quota_set.injected_file_path_bytes).toBe(300);
      expect((await api('GET', quotas(p.projectId, '/defaults'), { token: p.token })).body.quota_set.injected_file_path_bytes).toBe(300);
    } finally {
      await api('PUT', `${classes}/default`, { token: adminToken, body: { quota_class_set: { injected_file_path_bytes: 255 } } });
    }
    // Below 2.50 a body may set the server group quotas (Nova's schema has them), which the view does not show.
    const own = `${classes}/${p.projectId}-class`;
    const setGroups = await api('PUT', own, { token: adminToken, body: { quota_class_set: { server_groups: 3 } } });
    expect(setGroups.status).toBe(200);
    expect(setGroups.body.quota_class_set.server_groups).toBeUndefined();
    expect((await api('PUT', own, { token: adminToken, body: { quota_class_set: { networks: 3 } } })).status).toBe(400);
  });
});
