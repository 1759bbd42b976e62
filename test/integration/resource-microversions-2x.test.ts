import '../support/cloud-env.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeQcow2 } from '../support/cli-artifacts.js';
import { adminCredentials, api, createProjectUser, issueToken, openstack, openstackJson, type Credentials } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';

/**
 * The microversion changes from 2.38 to 2.100 of flavors, key pairs, server groups, limits and
 * quotas, the image metadata proxy and the version documents, each at the version that makes it
 * and the one before, against Nova's API samples. (Services, hypervisors, aggregates, usage and
 * migrations: resource-microversions-hosts.test.ts.)
 */
type Body = Record<string, any>;

const SAMPLES = join(import.meta.dirname, '../../../shared/nova-api-samples');
const sample = (path: string) => JSON.parse(readFileSync(join(SAMPLES, path), 'utf8')) as Body;
const keysOf = (o: Body) => Object.keys(o).sort();
const at = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });

let adminToken: string;
let memberToken: string;
let member: Credentials;
let memberProjectId: string;
const flavors: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'novaless-mv2x-'));

const compute = (method: string, path: string, version: string, opts: { token?: string; body?: unknown } = {}) =>
  api(method, `/compute/v2.1${path}`, { token: opts.token ?? adminToken, body: opts.body, headers: at(version) });

beforeAll(async () => {
  adminToken = await issueToken(adminCredentials());
  member = await createProjectUser(uniqueName('mv2x'));
  memberToken = await issueToken(member);
  memberProjectId = String((await openstackJson(['project', 'show', member.project])).id);
});

afterAll(async () => {
  for (const id of flavors) await compute('DELETE', `/flavors/${id}`, '2.1');
  rmSync(dir, { recursive: true, force: true });
});

describe('flavors: 2.55 description, 2.61 extra_specs, 2.75 swap and strict list parameters', () => {
  async function create(version: string, extra: Body = {}): Promise<Body> {
    const res = await compute('POST', '/flavors', version, { body: { flavor: { name: uniqueName('mv2x-flavor'), ram: 64, vcpus: 1, disk: 1, ...extra } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    flavors.push(res.body.flavor.id);
    return res.body.flavor;
  }

  it('2.55: create with a description, show and list it, update it with PUT; not before 2.55', async () => {
    expect((await compute('POST', '/flavors', '2.54', { body: { flavor: { name: uniqueName('f'), ram: 64, vcpus: 1, disk: 1, description: 'x' } } })).status).toBe(400);
    const before = await create('2.54');
    expect(before).not.toHaveProperty('description');

    const flavor = await create('2.55', { description: 'a small one' });
    expect(keysOf(flavor)).toEqual(keysOf(sample('flavor-manage/v2.55/flavor-create-post-resp.json').flavor));
    expect(flavor.description).toBe('a small one');
    expect((await compute('GET', `/flavors/${flavor.id}`, '2.55')).body.flavor.description).toBe('a small one');
    expect((await compute('GET', `/flavors/${flavor.id}`, '2.54')).body.flavor).not.toHaveProperty('description');
    const listed = (await compute('GET', '/flavors', '2.55')).body.flavors as Body[];
    expect(keysOf(listed[0])).toEqual(keysOf(sample('flavors/v2.55/flavors-list-resp.json').flavors[0]));
    expect(listed.find((f) => f.id === flavor.id)?.description).toBe('a small one');
    expect(keysOf((await compute('GET', '/flavors', '2.54')).body.flavors[0])).toEqual(['id', 'links', 'name']);

    const updated = await compute('PUT', `/flavors/${flavor.id}`, '2.55', { body: sample('flavor-manage/v2.55/flavor-update-req.json') });
    expect(updated.status).toBe(200);
    expect(keysOf(updated.body.flavor)).toEqual(keysOf(sample('flavor-manage/v2.55/flavor-update-resp.json').flavor));
    expect(updated.body.flavor.description).toBe('updated description');
    expect((await compute('PUT', `/flavors/${flavor.id}`, '2.55', { body: { flavor: { description: null } } })).body.flavor.description).toBeNull();

    // Nova's errors: no such route before 2.55, only the description, admins only, unknown flavor, non-printable text.
    expect((await compute('PUT', `/flavors/${flavor.id}`, '2.54', { body: { flavor: { description: 'x' } } })).body).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } });
    expect((await compute('PUT', `/flavors/${flavor.id}`, '2.55', { body: { flavor: { name: 'x' } } })).status).toBe(400);
    expect((await compute('PUT', `/flavors/${flavor.id}`, '2.55', { body: { flavor: {} } })).status).toBe(400);
    expect((await compute('PUT', `/flavors/${flavor.id}`, '2.55', { body: { flavor: { description: 'bell\u0007' } } })).status).toBe(400);
    expect((await compute('PUT', `/flavors/${flavor.id}`, '2.55', { token: memberToken, body: { flavor: { description: 'x' } } })).status).toBe(403);
    expect((await compute('PUT', '/flavors/no-such-flavor', '2.55', { body: { flavor: { description: 'x' } } })).body).toEqual({
      itemNotFound: { code: 404, message: 'Flavor no-such-flavor could not be found.' },
    });
  });

  it('2.61: extra_specs in show, detail, create and update, for members too', async () => {
    const flavor = await create('2.61');
    expect(flavor.extra_specs).toEqual({});
    expect((await compute('POST', `/flavors/${flavor.id}/os-extra_specs`, '2.61', { body: { extra_specs: { 'hw:cpu_policy': 'shared', custom: 'x' } } })).status).toBe(200);
    const shown = (await compute('GET', `/flavors/${flavor.id}`, '2.61', { token: memberToken })).body.flavor;
    expect(keysOf(shown)).toEqual(keysOf(sample('flavors/v2.61/flavor-get-resp.json').flavor));
    expect(shown.extra_specs).toEqual({ 'hw:cpu_policy': 'shared', custom: 'x' });
    expect((await compute('GET', `/flavors/${flavor.id}`, '2.60')).body.flavor).not.toHaveProperty('extra_specs');
    const detail = (await compute('GET', '/flavors/detail', '2.61')).body.flavors as Body[];
    expect(detail.find((f) => f.id === flavor.id)?.extra_specs).toEqual({ 'hw:cpu_policy': 'shared', custom: 'x' });
    expect((await compute('GET', '/flavors', '2.61')).body.flavors[0]).not.toHaveProperty('extra_specs');
    expect((await compute('PUT', `/flavors/${flavor.id}`, '2.61', { body: { flavor: { description: 'd' } } })).body.flavor.extra_specs).toEqual({ 'hw:cpu_policy': 'shared', custom: 'x' });
  });

  it('2.75: swap is 0 rather than "", and unknown list parameters are a 400', async () => {
    const flavor = await create('2.75');
    expect(flavor.swap).toBe(0);
    expect((await compute('GET', `/flavors/${flavor.id}`, '2.74')).body.flavor.swap).toBe('');
    expect(keysOf((await compute('GET', `/flavors/${flavor.id}`, '2.75')).body.flavor)).toEqual(keysOf(sample('flavors/v2.75/flavor-get-resp.json').flavor));
    expect((await compute('GET', '/flavors?foo=1', '2.74')).status).toBe(200);
    expect((await compute('GET', '/flavors/detail?foo=1', '2.75')).body).toEqual({ badRequest: { code: 400, message: "Additional properties are not allowed ('foo' was unexpected)" } });
    expect((await compute('GET', '/flavors?minRam=1&sort_key=name&limit=2', '2.75')).status).toBe(200);
    // Show keeps taking anything until 2.102.
    expect((await compute('GET', `/flavors/${flavor.id}?foo=1`, '2.100')).status).toBe(200);
  });

  it('2.86: known extra specs are validated, unknown namespaces are not', async () => {
    const flavor = await create('2.86');
    const post = (version: string, extra_specs: Body) => compute('POST', `/flavors/${flavor.id}/os-extra_specs`, version, { body: { extra_specs } });
    const put = (version: string, key: string, value: unknown) => compute('PUT', `/flavors/${flavor.id}/os-extra_specs/${key}`, version, { body: { [key]: value } });
    expect((await post('2.85', { 'hw:cpu_policy': 'lazy', 'hw:foo': 'x' })).status).toBe(200);
    expect((await post('2.86', { 'hw:cpu_policy': 'lazy' })).body).toEqual({ badRequest: { code: 400, message: "Validation failed; 'lazy' is not one of: dedicated, shared, mixed." } });
    expect((await post('2.86', { 'hw:foo': 'x' })).body.badRequest.message).toBe("Validation failed; extra spec 'hw:foo' does not appear to be a valid extra spec.");
    expect((await post('2.86', { 'hw:numa_nodes': 0 })).status).toBe(400);
    expect((await post('2.86', { 'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': 2, 'trait:HW_CPU_X86_AVX2': 'required', 'resources:VGPU': '1', 'my-namespace:anything': 'goes', plain: 'x' })).status).toBe(200);
    expect((await put('2.86', 'hw:cpu_policy', 'sometimes')).status).toBe(400);
    expect((await put('2.85', 'hw:cpu_policy', 'sometimes')).status).toBe(200);
    expect((await put('2.86', 'hw:mem_page_size', '2MB')).status).toBe(200);
  });

  it('the openstack CLI (flavor create --description, flavor show) negotiates them', async () => {
    const name = uniqueName('mv2x-cli');
    const created = await openstackJson(['--os-compute-api-version', '2.61', 'flavor', 'create', '--ram', '64', '--vcpus', '1', '--disk', '1', '--description', 'from the CLI', '--property', 'hw:cpu_policy=shared', name]);
    flavors.push(String(created.id));
    const shown = await openstackJson(['--os-compute-api-version', '2.61', 'flavor', 'show', name]);
    expect(shown.description).toBe('from the CLI');
    expect(shown.properties).toEqual({ 'hw:cpu_policy': 'shared' });
  });
});

describe('key pairs: 2.92 public_key required and new name characters; 2.75 strict parameters', () => {
  const create = (version: string, keypair: Body) => compute('POST', '/os-keypairs', version, { token: memberToken, body: { keypair } });

  it('generates below 2.92 only; from 2.92 public_key is required and names may hold @ and .', async () => {
    const generated = await create('2.91', { name: uniqueName('mv2x-gen') });
    expect(generated.status).toBe(201);
    expect(generated.body.keypair.private_key).toContain('PRIVATE KEY');

    const noKey = await create('2.92', { name: uniqueName('mv2x-nokey') });
    expect(noKey.status).toBe(400);
    expect(noKey.body.badRequest.message).toContain("'public_key' is a required property");

    const req = sample('os-keypairs/v2.92/keypairs-import-post-req.json').keypair;
    const imported = await create('2.92', { name: req.name, type: 'ssh', public_key: req.public_key });
    expect(imported.status).toBe(201);
    expect(keysOf(imported.body.keypair)).toEqual(keysOf(sample('os-keypairs/v2.92/keypairs-import-post-resp.json').keypair));
    expect(imported.body.keypair).toMatchObject({ name: req.name, type: 'ssh', public_key: req.public_key });
    const shown = await compute('GET', `/os-keypairs/${encodeURIComponent(req.name)}`, '2.92', { token: memberToken });
    expect(shown.body.keypair.name).toBe(req.name);

    // '@' and '.' are unsafe below 2.92; other characters still are from it.
    expect((await create('2.91', { name: 'me@host', public_key: req.public_key })).body).toEqual({
      badRequest: { code: 400, message: 'Keypair data is invalid: Keypair name contains unsafe characters' },
    });
    expect((await create('2.92', { name: 'me/host', public_key: req.public_key })).status).toBe(400);
    expect((await compute('DELETE', `/os-keypairs/${encodeURIComponent(req.name)}`, '2.92', { token: memberToken })).status).toBe(204);
  });

  it('2.75: list, show and delete reject unknown query parameters', async () => {
    expect((await compute('GET', '/os-keypairs?foo=1', '2.74', { token: memberToken })).status).toBe(200);
    expect((await compute('GET', '/os-keypairs?foo=1', '2.75', { token: memberToken })).status).toBe(400);
    expect((await compute('GET', '/os-keypairs?limit=1', '2.75', { token: memberToken })).status).toBe(200);
    expect((await compute('GET', '/os-keypairs/nope?foo=1', '2.75', { token: memberToken })).status).toBe(400);
    expect((await compute('DELETE', '/os-keypairs/nope?foo=1', '2.75', { token: memberToken })).status).toBe(400);
  });

  it('the openstack CLI still creates key pairs: generated at its default version, imported at 2.92', async () => {
    // OSC 6.0 asks the server to generate (no client-side generation yet): fine at its default 2.1,
    // Nova's 400 at 2.92, where only imports are taken.
    const generated = uniqueName('mv2x-cli-gen');
    expect(await openstack(['keypair', 'create', generated], member)).toContain('PRIVATE KEY');
    await expect(openstack(['--os-compute-api-version', '2.92', 'keypair', 'create', uniqueName('mv2x-cli-no')], member)).rejects.toThrow(/'public_key' is a required property/);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    const imported = uniqueName('mv2x-cli-imp');
    await openstack(['--os-compute-api-version', '2.92', 'keypair', 'create', '--public-key', join(dir, 'id.pub'), imported], member);
    const listed = await openstackJson<Body[]>(['--os-compute-api-version', '2.92', 'keypair', 'list'], member);
    expect(listed.map((k) => k.Name)).toEqual(expect.arrayContaining([generated, imported]));
  });
});

describe('server groups: 2.64 policy and rules', () => {
  const create = (version: string, group: Body) => compute('POST', '/os-server-groups', version, { token: memberToken, body: { server_group: group } });

  it('takes policy and rules from 2.64 and shows them instead of policies and metadata', async () => {
    const res = await create('2.64', sample('os-server-groups/v2.64/server-groups-post-req.json').server_group);
    expect(res.status).toBe(200);
    expect(keysOf(res.body.server_group)).toEqual(keysOf(sample('os-server-groups/v2.64/server-groups-post-resp.json').server_group));
    expect(res.body.server_group).toMatchObject({ policy: 'anti-affinity', rules: { max_server_per_host: 3 }, members: [] });
    const id = res.body.server_group.id;
    const shown = (await compute('GET', `/os-server-groups/${id}`, '2.64', { token: memberToken })).body.server_group;
    expect(keysOf(shown)).toEqual(keysOf(sample('os-server-groups/v2.64/server-groups-get-resp.json').server_group));
    const old = (await compute('GET', `/os-server-groups/${id}`, '2.63', { token: memberToken })).body.server_group;
    expect(old).toMatchObject({ policies: ['anti-affinity'], metadata: {} });
    expect(old).not.toHaveProperty('rules');
    const listed = (await compute('GET', '/os-server-groups', '2.64', { token: memberToken })).body.server_groups as Body[];
    expect(listed.find((g) => g.id === id)).toMatchObject({ policy: 'anti-affinity', rules: { max_server_per_host: 3 } });
    // A string of digits is a positive integer too; other policies get empty rules.
    expect((await create('2.64', { name: 'g', policy: 'anti-affinity', rules: { max_server_per_host: '2' } })).body.server_group.rules).toEqual({ max_server_per_host: 2 });
    expect((await create('2.64', { name: 'g', policy: 'soft-affinity' })).body.server_group).toMatchObject({ policy: 'soft-affinity', rules: {} });
  });

  it('answers bad bodies as Nova does', async () => {
    expect((await create('2.64', { name: 'g', policies: ['affinity'] })).status).toBe(400);
    expect((await create('2.63', { name: 'g', policy: 'affinity' })).status).toBe(400);
    expect((await create('2.64', { name: 'g', policy: 'affinity', rules: { max_server_per_host: 2 } })).body).toEqual({
      badRequest: { code: 400, message: 'Only anti-affinity policy supports rules.' },
    });
    for (const rules of [{ max_server_per_host: 0 }, { max_server_per_host: 'x' }, { other: 1 }]) {
      expect((await create('2.64', { name: 'g', policy: 'anti-affinity', rules })).status).toBe(400);
    }
    expect((await compute('GET', '/os-server-groups?foo=1', '2.75', { token: memberToken })).status).toBe(400);
    expect((await compute('GET', '/os-server-groups?foo=1', '2.74', { token: memberToken })).status).toBe(200);
  });

  it('the openstack CLI creates a group with a rule at 2.64', async () => {
    const name = uniqueName('mv2x-cli-group');
    const group = await openstackJson(['--os-compute-api-version', '2.64', 'server', 'group', 'create', '--policy', 'anti-affinity', '--rule', 'max_server_per_host=2', name], member);
    expect(group).toMatchObject({ name, policy: 'anti-affinity' });
    await openstack(['server', 'group', 'delete', name], member);
  });
});

describe('limits and quotas: 2.39, 2.50, 2.57, 2.75', () => {
  it('GET /limits drops maxImageMeta at 2.39 and the personality limits at 2.57', async () => {
    for (const [version, file] of [['2.38', 'v2.36'], ['2.39', 'v2.39'], ['2.56', 'v2.39'], ['2.57', 'v2.57'], ['2.100', 'v2.57']]) {
      const absolute = (await compute('GET', '/limits', version, { token: memberToken })).body.limits.absolute;
      expect(keysOf(absolute), version).toEqual(keysOf(sample(`limits/${file}/limit-get-resp.json`).limits.absolute));
    }
    expect((await compute('GET', '/limits?foo=1', '2.75', { token: memberToken })).status).toBe(400);
    expect((await compute('GET', `/limits?tenant_id=${memberProjectId}`, '2.75')).status).toBe(200);
  });

  it('os-quota-sets drops the injected file quotas at 2.57, in views and bodies', async () => {
    const path = `/os-quota-sets/${memberProjectId}`;
    for (const [suffix, file] of [['', 'quotas-show-get-resp.json'], ['/defaults', 'quotas-show-defaults-get-resp.json'], ['/detail', 'quotas-show-detail-get-resp.json']]) {
      const quota = (await compute('GET', `${path}${suffix}`, '2.57', { token: memberToken })).body.quota_set;
      expect(keysOf(quota), suffix).toEqual(keysOf(sample(`os-quota-sets/v2.57/${file}`).quota_set));
      expect(quota).toHaveProperty('id');
      expect((await compute('GET', `${path}${suffix}`, '2.56', { token: memberToken })).body.quota_set).toHaveProperty('injected_files');
    }
    expect((await compute('PUT', path, '2.57', { body: { quota_set: { injected_files: 3 } } })).status).toBe(400);
    const updated = await compute('PUT', path, '2.57', { body: sample('os-quota-sets/v2.57/quotas-update-post-req.json') });
    expect(updated.status).toBe(200);
    expect(keysOf(updated.body.quota_set)).toEqual(keysOf(sample('os-quota-sets/v2.57/quotas-update-post-resp.json').quota_set));
    expect((await compute('PUT', path, '2.56', { body: { quota_set: { injected_files: 5 } } })).status).toBe(200);
    expect((await compute('GET', `${path}?foo=1`, '2.75', { token: memberToken })).status).toBe(400);
    expect((await compute('GET', `${path}/detail?user_id=x`, '2.75', { token: memberToken })).status).toBe(200);
    expect((await compute('DELETE', path, '2.57')).status).toBe(202);
  });

  it('os-quota-class-sets: server groups shown from 2.50 with the network quotas gone, injected files gone at 2.57', async () => {
    for (const [version, file] of [['2.49', ''], ['2.50', 'v2.50/'], ['2.57', 'v2.57/']]) {
      const shown = (await compute('GET', '/os-quota-class-sets/default', version)).body.quota_class_set;
      expect(keysOf(shown), version).toEqual(keysOf(sample(`os-quota-class-sets/${file}quota-classes-show-get-resp.json`).quota_class_set));
    }
    // A class of its own, so the defaults of other suites stay as they are.
    const name = uniqueName('mv2x-class');
    const put = (version: string, body: Body) => compute('PUT', `/os-quota-class-sets/${name}`, version, { body: { quota_class_set: body } });
    expect((await put('2.49', { server_groups: 4, floating_ips: 3 })).body.quota_class_set).not.toHaveProperty('server_groups');
    expect((await put('2.50', { server_groups: 5 })).body.quota_class_set.server_groups).toBe(5);
    expect((await put('2.50', { floating_ips: 3 })).status).toBe(400);
    expect((await put('2.56', { injected_files: 3 })).status).toBe(200);
    const v257 = await put('2.57', sample('os-quota-class-sets/v2.57/quota-classes-update-post-req.json').quota_class_set);
    expect(keysOf(v257.body.quota_class_set)).toEqual(keysOf(sample('os-quota-class-sets/v2.57/quota-classes-update-post-resp.json').quota_class_set));
    expect((await put('2.57', { injected_files: 3 })).status).toBe(400);
  });
});

describe('the image metadata proxy lives until 2.38; the version documents', () => {
  let imageId: string;

  beforeAll(async () => {
    const image = await openstackJson(['image', 'create', '--file', (await makeQcow2(dir)).path, '--disk-format', 'qcow2', '--container-format', 'bare', '--property', 'color=blue', uniqueName('mv2x-image')]);
    imageId = String(image.id);
  });

  afterAll(async () => {
    if (imageId) await openstack(['image', 'delete', imageId]).catch(() => undefined);
  });

  it('/images/{id}/metadata answers at 2.36-2.38 (the image proxy does not) and is a 404 from 2.39', async () => {
    expect((await compute('GET', `/images/${imageId}`, '2.36')).status).toBe(404);
    expect((await compute('GET', `/images/${imageId}/metadata`, '2.38')).body.metadata).toMatchObject({ color: 'blue' });
    expect((await compute('PUT', `/images/${imageId}/metadata/size`, '2.38', { body: { meta: { size: 'large' } } })).status).toBe(200);
    expect((await compute('GET', `/images/${imageId}/metadata/size`, '2.38')).body).toEqual({ meta: { size: 'large' } });
    for (const [method, path, body] of [['GET', '/metadata', undefined], ['GET', '/metadata/size', undefined], ['POST', '/metadata', { metadata: { a: 'b' } }], ['DELETE', '/metadata/size', undefined]] as const) {
      expect((await compute(method, `/images/${imageId}${path}`, '2.39', { body })).body, `${method} ${path}`).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } });
    }
  });

  it('GET /compute lists v2.0 and v2.1 as Nova does, and each answers its document', async () => {
    const root = await api('GET', '/compute');
    expect(root.status).toBe(200);
    expect(root.body.versions.map((v: Body) => [v.id, v.status])).toEqual([['v2.0', 'DEPRECATED'], ['v2.1', 'CURRENT']]);
    expect(keysOf(root.body.versions[0])).toEqual(keysOf(sample('versions/versions-get-resp.json').versions[0]));
    expect(root.body.versions[1]).toMatchObject({ version: '2.100', min_version: '2.1' });
    const v2 = await api('GET', new URL(root.body.versions[0].links[0].href).pathname);
    expect(v2.status).toBe(200);
    expect(keysOf(v2.body.version)).toEqual(keysOf(sample('versions/v2-version-get-resp.json').version));
    expect((await api('GET', new URL(root.body.versions[1].links[0].href).pathname)).body.version.id).toBe('v2.1');
  });
});
