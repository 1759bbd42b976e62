import '../support/cloud-env.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { VmState } from '../../shared/domain/instance-states.js';
import { getHost } from '../../shared/store/hosts.js';
import { createInstances, getInstance, removeInstance } from '../../shared/store/instances.js';
import { adminCredentials, api, createProjectUser, issueToken, openstackJson } from '../support/cloud.js';
import { hostInventory, newInstance, retireHost, uniqueName } from '../support/fixtures.js';
import { deliver } from '../support/queue-events.js';

/**
 * The microversion changes from 2.38 to 2.100 of aggregates (2.41, 2.81), simple tenant usage
 * (2.40) and migrations (2.22-2.24, 2.59, 2.66, 2.80), raw at each version and its predecessor.
 * (Services and hypervisors: resource-microversions-hosts.test.ts.)
 */
type Body = Record<string, any>;

const SAMPLES = join(import.meta.dirname, '../../../shared/nova-api-samples');
const sample = (path: string) => JSON.parse(readFileSync(join(SAMPLES, path), 'utf8')) as Body;
const keysOf = (o: Body) => Object.keys(o).sort();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let adminToken: string;
let memberToken: string;
let memberProjectId: string;
const zone = uniqueName('mv2x-usage-zone');
const host = uniqueName('mv2x-usage-host');
const instances: string[] = [];
/** Hosts registered by a test, retired at the end. */
const extraHosts: string[] = [];

const compute = (method: string, path: string, version: string, opts: { token?: string; body?: unknown } = {}) =>
  api(method, `/compute/v2.1${path}`, { token: opts.token ?? adminToken, body: opts.body, headers: { 'OpenStack-API-Version': `compute ${version}` } });

const register = (name: string) => deliver(conductor, { type: 'register', host: name, at: new Date().toISOString(), inventory: hostInventory(name, zone) });

/** A server on a host, written straight into the table (no agent runs these hosts). */
async function serverOn(hostName: string, projectId = memberProjectId) {
  const i = newInstance(projectId, { vm_state: VmState.ACTIVE, task_state: null, task_deadline: null, host: hostName, launched_at: new Date(Date.now() - 3_600_000).toISOString() });
  await createInstances([i], { instances: 100, cores: 100, ram: 100_000 });
  instances.push(i.id);
  return i;
}

beforeAll(async () => {
  adminToken = await issueToken(adminCredentials());
  const member = await createProjectUser(uniqueName('mv2x-hosts'));
  memberToken = await issueToken(member);
  memberProjectId = String((await openstackJson(['project', 'show', member.project])).id);
  await register(host);
});

afterAll(async () => {
  for (const id of instances) {
    const i = await getInstance(id);
    if (i) await removeInstance(i);
  }
  for (const name of [host, ...extraHosts]) if (await getHost(name)) await retireHost(name);
});

describe('aggregates: 2.41 uuid, 2.81 image cache', () => {
  it('shows the uuid from 2.41; POST images is accepted from 2.81', async () => {
    const created = await compute('POST', '/os-aggregates', '2.41', { body: { aggregate: { name: uniqueName('mv2x-agg') } } });
    const aggregate = created.body.aggregate;
    try {
      expect(keysOf(aggregate)).toEqual(keysOf(sample('os-aggregates/v2.41/aggregate-post-resp.json').aggregate));
      expect(aggregate.uuid).toMatch(UUID);
      expect((await compute('GET', `/os-aggregates/${aggregate.id}`, '2.40')).body.aggregate).not.toHaveProperty('uuid');
      expect((await compute('GET', `/os-aggregates/${aggregate.id}`, '2.41')).body.aggregate.uuid).toBe(aggregate.uuid);
      expect(((await compute('GET', '/os-aggregates', '2.41')).body.aggregates as Body[]).find((a) => a.id === aggregate.id)?.uuid).toBe(aggregate.uuid);

      const images = (version: string, body: unknown = sample('os-aggregates/v2.81/aggregate-images-post-req.json'), id = aggregate.id) => compute('POST', `/os-aggregates/${id}/images`, version, { body });
      expect((await images('2.80')).status).toBe(404);
      const cached = await images('2.81');
      expect(cached.status).toBe(202);
      expect(cached.body).toBeUndefined();
      const image = '70a599e0-31e7-49b7-b260-868f441e862b';
      expect((await images('2.81', { cache: [{ id: image }, { id: image }] })).body).toEqual({ badRequest: { code: 400, message: 'Duplicate images in request' } });
      for (const body of [{ cache: [] }, { cache: [{ id: 'not-a-uuid' }] }, { cache: [{ id: image, x: 1 }] }, {}]) expect((await images('2.81', body)).status).toBe(400);
      expect((await images('2.81', undefined, 999999)).status).toBe(404);
      expect((await compute('POST', `/os-aggregates/${aggregate.id}/images`, '2.81', { token: memberToken, body: { cache: [{ id: image }] } })).status).toBe(403);
    } finally {
      await compute('DELETE', `/os-aggregates/${aggregate.id}`, '2.41');
    }
  });
});

describe('os-simple-tenant-usage: 2.40 paging', () => {
  it('pages servers with limit and marker and links from 2.40', async () => {
    const usageHost = uniqueName('mv2x-usage');
    await register(usageHost);
    extraHosts.push(usageHost);
    // A project of its own, with exactly these three servers.
    const project = uniqueName('mv2x-usage-project');
    const ids = [(await serverOn(usageHost, project)).id, (await serverOn(usageHost, project)).id, (await serverOn(usageHost, project)).id].sort();
    const path = `/os-simple-tenant-usage/${project}`;
    const first = (await compute('GET', `${path}?limit=2`, '2.40')).body;
    expect(first.tenant_usage.server_usages.map((u: Body) => u.instance_id)).toEqual(ids.slice(0, 2));
    expect(first.tenant_usage_links).toEqual([{ rel: 'next', href: expect.stringMatching(new RegExp(`/compute/v2\\.1${path}\\?limit=2&marker=${ids[1]}$`)) }]);
    expect(keysOf(first)).toEqual(keysOf(sample('os-simple-tenant-usage/v2.40/simple-tenant-usage-get-specific.json')));
    const rest = (await compute('GET', `${path}?limit=2&marker=${ids[1]}`, '2.40')).body;
    expect(rest.tenant_usage.server_usages.map((u: Body) => u.instance_id)).toEqual([ids[2]]);
    expect(rest.tenant_usage_links).toBeUndefined();
    expect((await compute('GET', `${path}?limit=2`, '2.39')).body.tenant_usage.server_usages).toHaveLength(3);
    expect((await compute('GET', `${path}?marker=nope`, '2.40')).body).toEqual({ badRequest: { code: 400, message: 'Marker nope could not be found.' } });

    const all = (await compute('GET', '/os-simple-tenant-usage?limit=1&detailed=1', '2.40')).body;
    expect(all.tenant_usages).toHaveLength(1);
    expect(all.tenant_usages_links[0].href).toMatch(/\/compute\/v2\.1\/os-simple-tenant-usage\?limit=1&detailed=1&marker=/);
    expect((await compute('GET', '/os-simple-tenant-usage?foo=1', '2.75')).status).toBe(400);
    expect((await compute('GET', '/os-simple-tenant-usage?foo=1', '2.74')).status).toBe(200);
    expect((await compute('GET', `${path}?detailed=1`, '2.75')).status).toBe(400);
  });
});

describe('os-migrations: 2.59, 2.66, 2.80 parameters', () => {
  const list = (query: string, version: string) => compute('GET', `/os-migrations${query}`, version);

  it('checks each microversion parameters (other suites move servers: filters that match none of theirs)', async () => {
    expect((await list('?foo=1', '2.58')).status).toBe(200);
    expect((await list('?foo=1', '2.59')).body).toEqual({ badRequest: { code: 400, message: "Additional properties are not allowed ('foo' was unexpected)" } });
    expect((await list('?limit=1&changes-since=2026-01-01T00:00:00Z&migration_type=teleport', '2.59')).body).toEqual({ migrations: [] });
    expect((await list('?marker=4e2b9b0d-8d1d-4d3b-9b4f-1c9b7d3e6a11', '2.59')).body).toEqual({
      badRequest: { code: 400, message: 'Marker 4e2b9b0d-8d1d-4d3b-9b4f-1c9b7d3e6a11 could not be found.' },
    });
    expect((await list('?changes-since=yesterday', '2.59')).status).toBe(400);
    expect((await list('?changes-before=2026-01-01T00:00:00Z', '2.65')).status).toBe(400);
    expect((await list('?changes-before=2026-01-01T00:00:00Z', '2.66')).status).toBe(200);
    expect((await list('?changes-since=2026-02-01T00:00:00Z&changes-before=2026-01-01T00:00:00Z', '2.66')).body.badRequest.message).toBe(
      'The value of changes-since must be less than or equal to changes-before.',
    );
    expect((await list(`?user_id=u&project_id=${memberProjectId}`, '2.79')).status).toBe(400);
    expect((await list(`?user_id=u&project_id=${memberProjectId}`, '2.80')).body).toEqual({ migrations: [] });
    expect(await openstackJson<Body[]>(['--os-compute-api-version', '2.80', 'server', 'migration', 'list', '--project', memberProjectId])).toEqual([]);
  });

  it("a server's migration: none to show (2.23), force (2.22) or abort (2.24)", async () => {
    const server = await serverOn(host);
    const base = `/servers/${server.id}/migrations`;
    expect((await compute('GET', `${base}/1`, '2.22')).status).toBe(404);
    expect((await compute('GET', `${base}/1`, '2.23')).body).toEqual({ itemNotFound: { code: 404, message: `In-progress live migration 1 is not found for server ${server.id}.` } });
    expect((await compute('POST', `${base}/1/action`, '2.22', { body: { force_complete: null } })).body).toEqual({
      conflictingRequest: { code: 409, message: `Cannot 'force_complete' instance ${server.id} while it is in task_state None` },
    });
    expect((await compute('POST', `${base}/1/action`, '2.21', { body: { force_complete: null } })).status).toBe(404);
    expect((await compute('DELETE', `${base}/1`, '2.24')).body.conflictingRequest.message).toBe(`Cannot 'abort live migration' instance ${server.id} while it is in task_state None`);
    expect((await compute('DELETE', `${base}/1`, '2.23')).status).toBe(404);
  });
});

describe('os-hosts: gone from 2.43', () => {
  it('answers at 2.42 and is a bare 404 from 2.43, every route of it', async () => {
    expect(((await compute('GET', '/os-hosts', '2.42')).body.hosts as Body[]).map((h) => h.host_name)).toContain(host);
    expect((await compute('GET', `/os-hosts/${host}`, '2.42')).status).toBe(200);
    for (const [method, path, body] of [['GET', '/os-hosts', undefined], ['GET', `/os-hosts/${host}`, undefined], ['PUT', `/os-hosts/${host}`, { status: 'enable' }], ['GET', `/os-hosts/${host}/reboot`, undefined]] as const) {
      expect((await compute(method, path, '2.43', { body })).body, `${method} ${path}`).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } });
    }
  });
});
