import '../support/cloud-env.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { VmState } from '../../shared/domain/instance-states.js';
import { getHost } from '../../shared/store/hosts.js';
import { createInstances, getInstance, removeInstance } from '../../shared/store/instances.js';
import { adminCredentials, api, createProjectUser, issueToken, openstack, openstackJson, waitFor } from '../support/cloud.js';
import { hostInventory, newInstance, retireHost, uniqueName } from '../support/fixtures.js';
import { deliver } from '../support/queue-events.js';

/**
 * The microversion changes from 2.38 to 2.100 of services (2.53 UUIDs and PUT/DELETE by id) and
 * hypervisors (2.53, 2.75, 2.88 and the real uptime), raw at each version and its predecessor,
 * and through the openstack CLI where it negotiates them. (Aggregates, usage and migrations:
 * resource-microversions-usage.test.ts.)
 */
type Body = Record<string, any>;

const SAMPLES = join(import.meta.dirname, '../../../shared/nova-api-samples');
const sample = (path: string) => JSON.parse(readFileSync(join(SAMPLES, path), 'utf8')) as Body;
const keysOf = (o: Body) => Object.keys(o).sort();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UPTIME = ' 08:32:11 up 93 days, 18:25, 12 users,  load average: 0.20, 0.12, 0.14';

let adminToken: string;
let memberToken: string;
let memberProjectId: string;
const zone = uniqueName('mv2x-zone');
const host = uniqueName('mv2x-host');
const instances: string[] = [];
/** Hosts registered by a test, retired at the end. */
const extraHosts: string[] = [];

const compute = (method: string, path: string, version: string, opts: { token?: string; body?: unknown } = {}) =>
  api(method, `/compute/v2.1${path}`, { token: opts.token ?? adminToken, body: opts.body, headers: { 'OpenStack-API-Version': `compute ${version}` } });

const register = (name: string) => deliver(conductor, { type: 'register', host: name, at: new Date().toISOString(), inventory: hostInventory(name, zone) });
const beat = (name: string, uptime?: string) => deliver(conductor, { type: 'heartbeat', host: name, at: new Date().toISOString(), guests: [], ...(uptime && { uptime }) });
const serviceOf = async (name: string, version: string) => ((await compute('GET', `/os-services?host=${name}`, version)).body.services as Body[])[0];
const hypervisorOf = async (name: string, version: string, suffix = '/detail') =>
  ((await compute('GET', `/os-hypervisors${suffix}?hypervisor_hostname_pattern=${name}`, version)).body.hypervisors as Body[])[0];

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

describe('os-services at 2.53: UUIDs, PUT and DELETE by id', () => {
  it('lists UUID ids from 2.53 (integers before), with the fields of the samples', async () => {
    const old = await serviceOf(host, '2.52');
    expect(typeof old.id).toBe('number');
    const svc = await serviceOf(host, '2.53');
    expect(svc.id).toMatch(UUID);
    expect(keysOf(svc)).toEqual(keysOf(sample('os-services/v2.53/services-list-get-resp.json').services[0]));
    expect(await serviceOf(host, '2.100')).toEqual({ ...svc, updated_at: expect.any(String) });
    const all = (await compute('GET', '/os-services', '2.53')).body.services as Body[];
    expect(all.find((s) => s.binary === 'nova-scheduler')?.id).toMatch(UUID);
    expect((await compute('GET', '/os-services?foo=1', '2.75')).status).toBe(400);
    expect((await compute('GET', '/os-services?foo=1', '2.74')).status).toBe(200);
  });

  it('PUT /os-services/{uuid} sets status, reason and forced_down and answers the whole service', async () => {
    const id = (await serviceOf(host, '2.53')).id;
    const put = (body: unknown, version = '2.53', target = id) => compute('PUT', `/os-services/${target}`, version, { body });
    const disabled = await put(sample('os-services/v2.53/service-disable-log-put-req.json'));
    expect(disabled.status).toBe(200);
    expect(keysOf(disabled.body.service)).toEqual(keysOf(sample('os-services/v2.53/service-disable-log-put-resp.json').service));
    expect(disabled.body.service).toMatchObject({ id, host, status: 'disabled', disabled_reason: 'maintenance', forced_down: false });
    const down = await put({ forced_down: true });
    expect(down.body.service).toMatchObject({ status: 'disabled', state: 'down', forced_down: true });
    const up = await put({ status: 'enabled', forced_down: 'false' });
    expect(up.body.service).toMatchObject({ status: 'enabled', disabled_reason: null, state: 'up', forced_down: false });

    expect((await put({ status: 'enabled', disabled_reason: 'x' })).body.badRequest.message).toBe("Specifying 'disabled_reason' with status 'enabled' is invalid.");
    expect((await put({ disabled_reason: 'x' })).body.badRequest.message).toBe("No updates were requested. Fields 'status' or 'forced_down' should be specified.");
    expect((await put({ status: 'off' })).status).toBe(400);
    expect((await put({ status: 'enabled', host })).status).toBe(400);
    expect((await put({ status: 'enabled' }, '2.53', 'disable')).body).toEqual({ badRequest: { code: 400, message: 'Invalid uuid disable' } });
    expect((await put({ status: 'enabled' }, '2.53', '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await compute('PUT', `/os-services/${id}`, '2.53', { token: memberToken, body: { status: 'enabled' } })).status).toBe(403);
    const scheduler = ((await compute('GET', '/os-services?binary=nova-scheduler', '2.53')).body.services as Body[])[0];
    expect((await put({ status: 'disabled' }, '2.53', scheduler.id)).body.badRequest.message).toBe('Updating a nova-scheduler service is not supported. Only nova-compute services can be updated.');
    // The old actions are gone from 2.53 (their names are no UUIDs) and still there before.
    expect((await compute('PUT', '/os-services/disable', '2.52', { body: { host, binary: 'nova-compute' } })).body.service.status).toBe('disabled');
    expect((await put({ status: 'enabled' })).status).toBe(200);
  });

  it('the openstack CLI (compute service set --disable / --down) works at 2.53', async () => {
    const cli = (...args: string[]) => openstack(['--os-compute-api-version', '2.53', 'compute', 'service', 'set', ...args, host, 'nova-compute']);
    await cli('--disable', '--disable-reason', 'from the CLI');
    expect(await serviceOf(host, '2.53')).toMatchObject({ status: 'disabled', disabled_reason: 'from the CLI' });
    await cli('--down');
    expect((await serviceOf(host, '2.53')).forced_down).toBe(true);
    await cli('--enable', '--up');
    expect(await serviceOf(host, '2.53')).toMatchObject({ status: 'enabled', forced_down: false });
    const listed = await openstackJson<Body[]>(['--os-compute-api-version', '2.53', 'compute', 'service', 'list', '--host', host]);
    expect(String(listed[0].ID)).toMatch(UUID);
  });

  it('DELETE /os-services/{id}: an integer before 2.53, a UUID from it; refused while servers are on the host', async () => {
    const doomed = uniqueName('mv2x-doomed');
    await register(doomed);
    const integerId = (await serviceOf(doomed, '2.52')).id;
    const uuid = (await serviceOf(doomed, '2.53')).id;
    expect((await compute('DELETE', `/os-services/${uuid}`, '2.52')).body).toEqual({ badRequest: { code: 400, message: 'Invalid input received: id must be an integer' } });
    expect((await compute('DELETE', `/os-services/${integerId}`, '2.53')).body).toEqual({ badRequest: { code: 400, message: `Invalid uuid ${integerId}` } });
    const server = await serverOn(doomed);
    expect((await compute('DELETE', `/os-services/${uuid}`, '2.53')).body).toEqual({
      conflictingRequest: { code: 409, message: 'Unable to delete compute service that is hosting instances. Migrate or delete the instances first.' },
    });
    await removeInstance((await getInstance(server.id))!);
    const aggregate = (await compute('POST', '/os-aggregates', '2.53', { body: { aggregate: { name: uniqueName('mv2x-agg') } } })).body.aggregate;
    await compute('POST', `/os-aggregates/${aggregate.id}/action`, '2.53', { body: { add_host: { host: doomed } } });
    expect((await compute('DELETE', `/os-services/${integerId}`, '2.52', { token: memberToken })).status).toBe(403);
    expect((await compute('DELETE', `/os-services/${integerId}`, '2.52')).status).toBe(204);
    expect(await getHost(doomed)).toBeUndefined();
    expect((await compute('GET', `/os-aggregates/${aggregate.id}`, '2.53')).body.aggregate.hosts).toEqual([]);
    expect((await compute('DELETE', `/os-services/${uuid}`, '2.53')).body).toEqual({ itemNotFound: { code: 404, message: `Service ${uuid} could not be found.` } });
    await compute('DELETE', `/os-aggregates/${aggregate.id}`, '2.53');
    // A host that registers again is a new service, with new ids.
    await register(doomed);
    expect((await serviceOf(doomed, '2.53')).id).not.toBe(uuid);
    const again = (await serviceOf(doomed, '2.53')).id;
    expect((await compute('DELETE', `/os-services/${again}`, '2.53')).status).toBe(204);
  });
});

describe('os-hypervisors: 2.53, 2.75, 2.88 and uptime', () => {
  let server: Body;

  beforeAll(async () => {
    server = await serverOn(host);
    await beat(host, UPTIME);
  });

  it('2.53: UUID ids, hypervisor_hostname_pattern and with_servers; search and servers routes gone', async () => {
    // Before 2.53 the parameter means nothing: every hypervisor is listed.
    expect(((await compute('GET', `/os-hypervisors?hypervisor_hostname_pattern=${host}`, '2.52')).body.hypervisors as Body[]).length).toBeGreaterThan(1);
    const listed = (await compute('GET', `/os-hypervisors?hypervisor_hostname_pattern=${host}`, '2.53')).body.hypervisors as Body[];
    expect(listed).toHaveLength(1);
    expect(listed[0].id).toMatch(UUID);
    expect(keysOf(listed[0])).toEqual(keysOf(sample('os-hypervisors/v2.53/hypervisors-list-resp.json').hypervisors[0]));
    const detail = await hypervisorOf(host, '2.53');
    expect(keysOf(detail)).toEqual(keysOf(sample('os-hypervisors/v2.53/hypervisors-detail-resp.json').hypervisors[0]));
    expect(detail.service.id).toBe((await serviceOf(host, '2.53')).id);

    const withServers = (await compute('GET', `/os-hypervisors?hypervisor_hostname_pattern=${host}&with_servers=true`, '2.53')).body.hypervisors[0];
    expect(withServers.servers).toEqual([{ name: expect.any(String), uuid: server.id }]);
    const shown = (await compute('GET', `/os-hypervisors/${detail.id}?with_servers=1`, '2.53')).body.hypervisor;
    expect(shown.servers.map((s: Body) => s.uuid)).toEqual([server.id]);
    expect((await compute('GET', `/os-hypervisors/${detail.id}`, '2.53')).body.hypervisor).not.toHaveProperty('servers');

    expect((await compute('GET', `/os-hypervisors/${host}/search`, '2.53')).status).toBe(404);
    expect((await compute('GET', `/os-hypervisors/${host}/servers`, '2.53')).status).toBe(404);
    expect((await compute('GET', `/os-hypervisors/${host}/search`, '2.52')).body.hypervisors[0].hypervisor_hostname).toBe(host);
    const legacyId = (await compute('GET', `/os-hypervisors/${host}/search`, '2.52')).body.hypervisors[0].id;
    expect((await compute('GET', `/os-hypervisors/${legacyId}`, '2.53')).body).toEqual({ badRequest: { code: 400, message: `Invalid uuid ${legacyId}` } });
    expect((await compute('GET', `/os-hypervisors/${detail.id}`, '2.52')).body).toEqual({ itemNotFound: { code: 404, message: `Hypervisor with ID '${detail.id}' could not be found.` } });
    expect((await compute('GET', `/os-hypervisors/${legacyId}`, '2.52')).body.hypervisor.hypervisor_hostname).toBe(host);

    // Paging by UUID marker; no paging with a pattern; unknown parameters and bad booleans are 400s.
    const page = (await compute('GET', '/os-hypervisors?limit=1', '2.53')).body;
    expect(page.hypervisors[0].id).toMatch(UUID);
    expect(page.hypervisors_links[0].href).toContain(`marker=${page.hypervisors[0].id}`);
    expect((await compute('GET', `/os-hypervisors?marker=${page.hypervisors[0].id}&limit=1`, '2.53')).body.hypervisors[0].id).not.toBe(page.hypervisors[0].id);
    expect((await compute('GET', `/os-hypervisors?hypervisor_hostname_pattern=${host}&limit=1`, '2.53')).body.badRequest.message).toBe(
      'Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.',
    );
    expect((await compute('GET', '/os-hypervisors?hypervisor_hostname_pattern=no-such-host-anywhere', '2.53')).status).toBe(404);
    expect((await compute('GET', '/os-hypervisors?foo=1', '2.53')).status).toBe(400);
    expect((await compute('GET', '/os-hypervisors?foo=1', '2.52')).status).toBe(200);
    expect((await compute('GET', '/os-hypervisors?with_servers=maybe', '2.53')).status).toBe(400);
  });

  it('2.75: servers is always there when asked for, empty or not', async () => {
    const empty = uniqueName('mv2x-empty');
    await register(empty);
    try {
      const at = async (version: string) => (await compute('GET', `/os-hypervisors?hypervisor_hostname_pattern=${empty}&with_servers=true`, version)).body.hypervisors[0];
      expect(await at('2.74')).not.toHaveProperty('servers');
      expect((await at('2.75')).servers).toEqual([]);
      expect((await compute('GET', `/os-hypervisors?hypervisor_hostname_pattern=${empty}`, '2.75')).body.hypervisors[0]).not.toHaveProperty('servers');
    } finally {
      await retireHost(empty);
    }
  });

  it('2.88: no resource fields or cpu_info, uptime in detail and show; statistics and uptime routes gone', async () => {
    const before = await hypervisorOf(host, '2.87');
    expect(before).toHaveProperty('vcpus');
    expect(before).not.toHaveProperty('uptime');
    const after = await hypervisorOf(host, '2.88');
    expect(keysOf(after)).toEqual(keysOf(sample('os-hypervisors/v2.88/hypervisors-detail-resp.json').hypervisors[0]));
    expect(after.uptime).toBe(UPTIME);
    const shown = (await compute('GET', `/os-hypervisors/${after.id}?with_servers=true`, '2.88')).body.hypervisor;
    expect(keysOf(shown)).toEqual(keysOf(sample('os-hypervisors/v2.88/hypervisors-show-with-servers-resp.json').hypervisor));
    expect((await compute('GET', '/os-hypervisors/statistics', '2.87')).body.hypervisor_statistics.count).toBeGreaterThan(0);
    expect((await compute('GET', '/os-hypervisors/statistics', '2.88')).body).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } });
    expect((await compute('GET', `/os-hypervisors/${after.id}/uptime`, '2.88')).status).toBe(404);
    expect((await compute('GET', '/os-hypervisors?limit=1', '2.88')).body.hypervisors[0]).not.toHaveProperty('uptime');
  });

  it('uptime below 2.88 is what the host reported; a down host is a 400', async () => {
    const legacyId = (await compute('GET', `/os-hypervisors/${host}/search`, '2.1')).body.hypervisors[0].id;
    const res = await compute('GET', `/os-hypervisors/${legacyId}/uptime`, '2.1');
    expect(res.body).toEqual({ hypervisor: { id: legacyId, hypervisor_hostname: host, state: 'up', status: 'enabled', uptime: UPTIME } });
    expect(keysOf(res.body.hypervisor)).toEqual(keysOf(sample('os-hypervisors/hypervisors-uptime-resp.json').hypervisor));
    const uuid = (await hypervisorOf(host, '2.53')).id;
    expect((await compute('GET', `/os-hypervisors/${uuid}/uptime`, '2.87')).body.hypervisor).toMatchObject({ id: uuid, uptime: UPTIME });
    await compute('PUT', `/os-services/${(await serviceOf(host, '2.53')).id}`, '2.53', { body: { forced_down: true } });
    expect((await compute('GET', `/os-hypervisors/${legacyId}/uptime`, '2.1')).body).toEqual({ badRequest: { code: 400, message: `Compute service of ${host} is unavailable at this time.` } });
    expect((await hypervisorOf(host, '2.88')).uptime).toBeNull();
    await compute('PUT', `/os-services/${(await serviceOf(host, '2.53')).id}`, '2.53', { body: { forced_down: false } });
  });

  it("the cloud's own agent reports its real uptime, and the CLI shows it", async () => {
    const own = await waitFor('an agent-reported uptime', async () => {
      const all = (await compute('GET', '/os-hypervisors/detail', '2.88')).body.hypervisors as Body[];
      return all.find((h) => h.state === 'up' && typeof h.uptime === 'string' && h.uptime !== UPTIME && / up /.test(h.uptime));
    });
    expect(own.uptime).toMatch(/load average: [\d.]+, [\d.]+, [\d.]+/);
    const shown = await openstackJson(['hypervisor', 'show', own.hypervisor_hostname]);
    expect(shown.uptime).toBeTruthy();
    expect(shown.load_average).toMatch(/[\d.]+, [\d.]+, [\d.]+/);
    const listed = await openstackJson<Body[]>(['--os-compute-api-version', '2.53', 'hypervisor', 'list']);
    expect(listed.find((h) => h['Hypervisor Hostname'] === own.hypervisor_hostname)?.ID).toMatch(UUID);
    const shown253 = await openstackJson(['--os-compute-api-version', '2.53', 'hypervisor', 'show', own.id]);
    expect(shown253.hypervisor_hostname).toBe(own.hypervisor_hostname);
  });
});
