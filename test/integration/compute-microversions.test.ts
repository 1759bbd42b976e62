import '../support/cloud-env.js';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { dynamo } from '../../shared/aws.js';
import { PowerState, TaskState, VmState } from '../../shared/domain/instance-states.js';
import type { ConductorMessage } from '../../shared/messages/conductor.js';
import { getHost } from '../../shared/store/hosts.js';
import { keys } from '../../shared/store/keys.js';
import { getAction, listActions, newAction, newestTaskAction, recordAction } from '../../shared/store/instance-actions.js';
import { createInstances, deadlineFor, getInstance, removeInstance } from '../../shared/store/instances.js';
import { tableName } from '../../shared/store/table.js';
import { makeQcow2 } from '../support/cli-artifacts.js';
import { adminCredentials, api, createProjectUser, issueToken, openstack, openstackJson, waitFor } from '../support/cloud.js';
import { hostInventory, newInstance, retireHost, uniqueName } from '../support/fixtures.js';
import { deliver } from '../support/queue-events.js';

/**
 * The microversion changes of the resources beside servers, up to 2.37, each at the version that
 * makes it and the one before, against Nova's API samples: flavor access (2.7), services'
 * forced_down (2.11), trigger_crash_dump (2.17), a deleted server's actions (2.21), hypervisors'
 * cpu_info (2.28) and paging (2.33), key pair paging (2.35), and the network quotas and limits
 * gone from 2.36.
 */
type Body = Record<string, any>;

const SAMPLES = join(import.meta.dirname, '../../../shared/nova-api-samples');
const sample = (path: string) => JSON.parse(readFileSync(join(SAMPLES, path), 'utf8')) as Body;
const at = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });

let dir: string;
let adminToken: string;
let memberToken: string;
let otherToken: string;
let memberProjectId: string;
let imageId: string;
const servers: string[] = [];
const flavors: string[] = [];

const compute = (method: string, path: string, version: string, opts: { token?: string; body?: unknown } = {}) =>
  api(method, `/compute/v2.1${path}`, { token: opts.token ?? adminToken, body: opts.body, headers: at(version) });

const show = async (id: string): Promise<Body> => (await compute('GET', `/servers/${id}`, '2.1')).body.server;

async function boot(name: string, extra: Body = {}): Promise<Body> {
  const res = await compute('POST', '/servers', '2.37', { token: memberToken, body: { server: { name, imageRef: imageId, flavorRef: '1', networks: 'none', ...extra } } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  servers.push(res.body.server.id);
  return res.body.server;
}

/** Waits for a status with no task running. */
const settled = (id: string, status: string) =>
  waitFor(`server ${id} ${status}`, async () => {
    const s = await show(id);
    if (s.status === 'ERROR' && status !== 'ERROR') throw new Error(`server went to ERROR: ${JSON.stringify(s.fault)}`);
    return s.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novaless-microversions-'));
  adminToken = await issueToken(adminCredentials());
  const member = await createProjectUser(uniqueName('mv'));
  memberToken = await issueToken(member);
  memberProjectId = String((await openstackJson(['project', 'show', member.project])).id);
  otherToken = await issueToken(await createProjectUser(uniqueName('mv-other')));
  const image = await openstackJson(['image', 'create', '--file', (await makeQcow2(dir)).path, '--disk-format', 'qcow2', '--container-format', 'bare', '--public', uniqueName('mv-image')]);
  imageId = String(image.id);
});

afterAll(async () => {
  for (const id of servers) await openstack(['server', 'delete', '--wait', id]).catch(() => undefined);
  for (const id of flavors) await compute('DELETE', `/flavors/${id}`, '2.1');
  if (imageId) await openstack(['image', 'delete', imageId]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('2.7: tenant access to a public flavor', () => {
  it('is a 409 with Nova message (as it was below 2.7); a private flavor takes it', async () => {
    const create = async (isPublic: boolean) => {
      const res = await compute('POST', '/flavors', '2.1', {
        body: { flavor: { name: uniqueName('mv-flavor'), ram: 64, vcpus: 1, disk: 1, 'os-flavor-access:is_public': isPublic } },
      });
      expect(res.status).toBe(200);
      flavors.push(res.body.flavor.id);
      return String(res.body.flavor.id);
    };
    const publicFlavor = await create(true);
    const add = (flavor: string, version: string, body: unknown = { addTenantAccess: { tenant: memberProjectId } }) =>
      compute('POST', `/flavors/${flavor}/action`, version, { body });
    for (const version of ['2.6', '2.7', '2.37']) {
      expect((await add(publicFlavor, version)).body).toEqual({ conflictingRequest: { code: 409, message: 'Can not add access to a public flavor.' } });
    }
    const privateFlavor = await create(false);
    const added = await add(privateFlavor, '2.7');
    expect(added.status).toBe(200);
    expect(added.body).toEqual({ flavor_access: [{ flavor_id: privateFlavor, tenant_id: memberProjectId }] });
    expect((await add(privateFlavor, '2.7', { addTenantAccess: {} })).status).toBe(400);
    expect((await add(privateFlavor, '2.7', { addTenantAccess: { tenant: memberProjectId } })).status).toBe(409);
  });
});

describe('2.11: forced_down services', () => {
  const host = uniqueName('mv-host');
  const zone = uniqueName('mv-zone');
  const forceDown = (body: unknown, version = '2.11', token = adminToken) => compute('PUT', '/os-services/force-down', version, { token, body });
  const serviceOf = async (version: string) => (await compute('GET', `/os-services?host=${host}`, version)).body.services[0] as Body;

  beforeAll(async () => {
    // A host of its own (no agent serves it), in a zone of its own: forcing it down harms no other suite.
    await deliver(conductor, { type: 'register', host, at: new Date().toISOString(), inventory: hostInventory(host, zone) });
  });

  afterAll(async () => {
    await retireHost(host);
  });

  it('shows forced_down from 2.11 only, with the fields of the samples', async () => {
    const before = await serviceOf('2.10');
    expect(Object.keys(before).sort()).toEqual(Object.keys(sample('os-services/services-list-get-resp.json').services[0]).sort());
    const from211 = await serviceOf('2.11');
    expect(Object.keys(from211).sort()).toEqual(Object.keys(sample('os-services/v2.11/services-list-get-resp.json').services[0]).sort());
    expect(from211).toMatchObject({ host, binary: 'nova-compute', zone, state: 'up', status: 'enabled', forced_down: false });
  });

  it('PUT /os-services/force-down takes the host down everywhere until it is cleared', async () => {
    const res = await forceDown({ host, binary: 'nova-compute', forced_down: true });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ service: { host, binary: 'nova-compute', forced_down: true } });
    expect(Object.keys(res.body.service).sort()).toEqual(Object.keys(sample('os-services/v2.11/service-force-down-put-resp.json').service).sort());
    expect((await getHost(host))?.forced_down).toBe(true);

    // Its heartbeat is fresh, yet it is down for services, hypervisors, zones and the scheduler.
    expect(await serviceOf('2.11')).toMatchObject({ state: 'down', forced_down: true });
    const hypervisors = (await compute('GET', '/os-hypervisors', '2.1')).body.hypervisors as Body[];
    expect(hypervisors.find((h) => h.hypervisor_hostname === host)?.state).toBe('down');
    const zones = (await compute('GET', '/os-availability-zone/detail', '2.1')).body.availabilityZoneInfo as Body[];
    expect(zones.find((z) => z.zoneName === zone)?.hosts?.[host]?.['nova-compute']?.available).toBe(false);
    const server = await boot(uniqueName('mv-forced'), { availability_zone: zone });
    const failed = await settled(server.id, 'ERROR');
    expect(failed.fault.message).toContain('No valid host');
    expect(failed.fault.message).toContain('ComputeFilter rejected 1');

    // Strings Nova's boolean takes, and clearing it.
    expect((await forceDown({ host, binary: 'nova-compute', forced_down: 'false' })).body.service.forced_down).toBe(false);
    expect(await serviceOf('2.11')).toMatchObject({ state: 'up', forced_down: false });
  });

  it('answers bad requests as Nova does', async () => {
    const service = { host, binary: 'nova-compute' };
    // Below 2.11 there is no such action, and forced_down is not a field of the body.
    expect((await forceDown({ ...service, forced_down: true }, '2.10')).body).toEqual({ itemNotFound: { code: 404, message: 'Unknown action' } });
    expect((await compute('PUT', '/os-services/disable', '2.10', { body: { ...service, forced_down: true } })).status).toBe(400);
    expect((await forceDown(service)).body).toEqual({ badRequest: { code: 400, message: 'Missing forced_down field' } });
    expect((await forceDown({ ...service, forced_down: 'maybe' })).status).toBe(400);
    expect((await forceDown({ ...service, forced_down: true, extra: 1 })).status).toBe(400);
    expect((await forceDown({ host, binary: 'nova-scheduler', forced_down: true })).body.badRequest.message).toBe(
      'nova-scheduler runs as functions of the control plane here: it cannot be disabled or forced down. Only nova-compute services can be updated.',
    );
    expect((await forceDown({ host: 'no-such-host', binary: 'nova-compute', forced_down: true })).body).toEqual({
      itemNotFound: { code: 404, message: 'Could not find binary nova-compute on host no-such-host.' },
    });
    expect((await forceDown({ ...service, forced_down: true }, '2.11', memberToken)).status).toBe(403);
    expect((await compute('PUT', '/os-services/force-down', '2.11', { body: undefined })).status).toBe(400);
    // Enable and disable take the 2.11 body too, and keep their 2.1 answers.
    const disabled = await compute('PUT', '/os-services/disable', '2.11', { body: { ...service, forced_down: false } });
    expect(disabled.body).toEqual({ service: { ...service, status: 'disabled' } });
    expect(Object.keys(disabled.body.service).sort()).toEqual(Object.keys(sample('os-services/v2.11/service-disable-put-resp.json').service).sort());
    expect((await compute('PUT', '/os-services/enable', '2.11', { body: service })).body).toEqual({ service: { ...service, status: 'enabled' } });
    expect((await getHost(host))?.forced_down).toBe(false);
  });
});

describe('2.28 and 2.33: hypervisors', () => {
  beforeAll(async () => {
    // At least two hypervisors to page over: the cloud's own agent and one more.
    const host = uniqueName('mv-page-host');
    await deliver(conductor, { type: 'register', host, at: new Date().toISOString(), inventory: hostInventory(host, uniqueName('mv-zone')) });
  });

  afterAll(async () => {
    const hypervisors = (await compute('GET', '/os-hypervisors', '2.1')).body.hypervisors as Body[];
    for (const h of hypervisors.filter((h) => h.hypervisor_hostname.startsWith('mv-page-host'))) await retireHost(h.hypervisor_hostname);
  });

  it('shows cpu_info as a string before 2.28 and as an object from 2.28', async () => {
    const before = (await compute('GET', '/os-hypervisors/detail', '2.27')).body.hypervisors as Body[];
    expect(typeof before[0].cpu_info).toBe('string');
    const after = (await compute('GET', '/os-hypervisors/detail', '2.28')).body.hypervisors as Body[];
    expect(after[0].cpu_info).toEqual({});
    expect(Object.keys(after[0]).sort()).toEqual(Object.keys(sample('os-hypervisors/v2.28/hypervisors-detail-resp.json').hypervisors[0]).sort());
    const shown = await compute('GET', `/os-hypervisors/${after[0].id}`, '2.28');
    expect(shown.body.hypervisor.cpu_info).toEqual({});
    expect(typeof (await compute('GET', `/os-hypervisors/${after[0].id}`, '2.1')).body.hypervisor.cpu_info).toBe('string');
  });

  it('pages from 2.33 with limit, marker and hypervisors_links; ignores them before', async () => {
    const all = (await compute('GET', '/os-hypervisors', '2.33')).body;
    expect(all.hypervisors_links).toBeUndefined();
    const ids = (all.hypervisors as Body[]).map((h) => String(h.id));
    expect(ids.length).toBeGreaterThanOrEqual(2);

    const first = (await compute('GET', '/os-hypervisors?limit=1', '2.33')).body;
    expect(first.hypervisors.map((h: Body) => String(h.id))).toEqual([ids[0]]);
    expect(Object.keys(first).sort()).toEqual(Object.keys(sample('os-hypervisors/v2.33/hypervisors-list-resp.json')).sort());
    expect(first.hypervisors_links).toEqual([{ rel: 'next', href: expect.stringMatching(new RegExp(`/compute/v2\\.1/os-hypervisors\\?limit=1&marker=${ids[0]}$`)) }]);
    const second = (await compute('GET', `/os-hypervisors?limit=1&marker=${ids[0]}`, '2.33')).body;
    expect(second.hypervisors.map((h: Body) => String(h.id))).toEqual([ids[1]]);
    const rest = (await compute('GET', `/os-hypervisors?marker=${ids[0]}`, '2.33')).body;
    expect(rest.hypervisors.map((h: Body) => String(h.id))).toEqual(ids.slice(1));
    expect(rest.hypervisors_links).toBeUndefined();

    const detail = (await compute('GET', '/os-hypervisors/detail?limit=1', '2.33')).body;
    expect(detail.hypervisors).toHaveLength(1);
    expect(detail.hypervisors[0].cpu_info).toEqual({});
    expect(detail.hypervisors_links[0].href).toMatch(new RegExp(`/compute/v2\\.1/os-hypervisors/detail\\?limit=1&marker=${ids[0]}$`));

    // Before 2.33 the parameters mean nothing.
    const old = (await compute('GET', '/os-hypervisors?limit=1&marker=nope', '2.32')).body;
    expect(old.hypervisors).toHaveLength(ids.length);
    expect(old.hypervisors_links).toBeUndefined();

    expect((await compute('GET', '/os-hypervisors?marker=nope', '2.33')).body).toEqual({ badRequest: { code: 400, message: 'marker [nope] not found' } });
    expect((await compute('GET', '/os-hypervisors/detail?marker=nope', '2.33')).status).toBe(400);
    for (const limit of ['x', '-1', '1.5']) expect((await compute('GET', `/os-hypervisors?limit=${limit}`, '2.33')).status).toBe(400);
    expect((await compute('GET', '/os-hypervisors?limit=1', '2.33', { token: memberToken })).status).toBe(403);
  });
});

describe('2.35: key pair paging', () => {
  const names = ['mv-kp-a', 'mv-kp-b', 'mv-kp-c'];
  const list = (query: string, version = '2.35') => compute('GET', `/os-keypairs${query}`, version, { token: memberToken });

  beforeAll(async () => {
    for (const name of names) expect((await compute('POST', '/os-keypairs', '2.35', { token: memberToken, body: { keypair: { name } } })).status).toBe(201);
  });

  it('pages with limit, marker (a name) and keypairs_links from 2.35', async () => {
    const first = (await list('?limit=2')).body;
    expect(first.keypairs.map((k: Body) => k.keypair.name)).toEqual(names.slice(0, 2));
    expect(Object.keys(first).sort()).toEqual(Object.keys(sample('os-keypairs/v2.35/keypairs-list-resp.json')).sort());
    expect(Object.keys(first.keypairs[0].keypair).sort()).toEqual(Object.keys(sample('os-keypairs/v2.35/keypairs-list-resp.json').keypairs[0].keypair).sort());
    expect(first.keypairs_links).toEqual([{ rel: 'next', href: expect.stringMatching(/\/compute\/v2\.1\/os-keypairs\?limit=2&marker=mv-kp-b$/) }]);
    const next = (await list('?limit=2&marker=mv-kp-b')).body;
    expect(next.keypairs.map((k: Body) => k.keypair.name)).toEqual(['mv-kp-c']);
    expect(next.keypairs_links).toBeUndefined();
    expect((await list('')).body.keypairs_links).toBeUndefined();
    expect((await list('?marker=mv-kp-a')).body.keypairs.map((k: Body) => k.keypair.name)).toEqual(['mv-kp-b', 'mv-kp-c']);
  });

  it('ignores limit and marker before 2.35; a bad marker or limit is a 400 from 2.35', async () => {
    const old = (await list('?limit=1&marker=nope', '2.34')).body;
    expect(old.keypairs).toHaveLength(3);
    expect(old.keypairs_links).toBeUndefined();
    expect((await list('?marker=nope')).body).toEqual({ badRequest: { code: 400, message: 'Marker nope could not be found.' } });
    for (const limit of ['x', '-2']) expect((await list(`?limit=${limit}`)).status).toBe(400);
    // Another user's names are no marker.
    expect((await compute('GET', '/os-keypairs?marker=mv-kp-a', '2.35', { token: otherToken })).status).toBe(400);
  });
});

describe('2.36: limits and quota sets without the network quotas', () => {
  const keysOf = (o: Body) => Object.keys(o).sort();

  it('GET /limits drops maxSecurityGroups, maxSecurityGroupRules, maxTotalFloatingIps and their usage from 2.36', async () => {
    const before = (await compute('GET', '/limits', '2.35', { token: memberToken })).body;
    expect(keysOf(before.limits.absolute)).toEqual(keysOf(sample('limits/limit-get-resp.json').limits.absolute));
    const after = (await compute('GET', '/limits', '2.36', { token: memberToken })).body;
    expect(keysOf(after.limits.absolute)).toEqual(keysOf(sample('limits/v2.36/limit-get-resp.json').limits.absolute));
    expect(after.limits.rate).toEqual([]);
    expect(after.limits.absolute.maxTotalInstances).toBe(before.limits.absolute.maxTotalInstances);
  });

  it('os-quota-sets show, defaults and detail drop fixed_ips, floating_ips and the security group quotas from 2.36', async () => {
    const path = `/os-quota-sets/${memberProjectId}`;
    const get = async (suffix: string, version: string) => (await compute('GET', `${path}${suffix}`, version, { token: memberToken })).body.quota_set as Body;
    for (const [suffix, file] of [['', 'quotas-show-get-resp.json'], ['/defaults', 'quotas-show-defaults-get-resp.json'], ['/detail', 'quotas-show-detail-get-resp.json']]) {
      expect(keysOf(await get(suffix, '2.35')), `${suffix} 2.35`).toEqual(keysOf(sample(`os-quota-sets/${file}`).quota_set));
      expect(keysOf(await get(suffix, '2.36')), `${suffix} 2.36`).toEqual(keysOf(sample(`os-quota-sets/v2.36/${file}`).quota_set));
    }
    expect((await get('/detail', '2.36')).instances).toEqual({ in_use: expect.any(Number), limit: 10, reserved: 0 });
  });
});

describe('2.17: trigger_crash_dump', () => {
  let id: string;
  const dump = (version: string, body: unknown = { trigger_crash_dump: null }, token = memberToken) => compute('POST', `/servers/${id}/action`, version, { token, body });
  const actionsOf = async () => (await compute('GET', `/servers/${id}/os-instance-actions`, '2.17', { token: memberToken })).body.instanceActions as Body[];
  /** The event of a trigger_crash_dump action, once its host reported. */
  const finishedEvent = (requestId: string) =>
    waitFor(`crash dump event of ${requestId}`, async () => {
      const shown = await compute('GET', `/servers/${id}/os-instance-actions/${requestId}`, '2.17');
      const event = shown.body.instanceAction?.events?.[0];
      return event?.finish_time ? event : undefined;
    });

  beforeAll(async () => {
    id = (await boot(uniqueName('mv-dump'))).id;
    await settled(id, 'ACTIVE');
  });

  it('is not there below 2.17 (a bare 404) and takes only a null body', async () => {
    expect((await dump('2.16')).body).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } });
    expect((await dump('2.1')).status).toBe(404);
    for (const body of [{ trigger_crash_dump: {} }, { trigger_crash_dump: 'now' }, { trigger_crash_dump: true }]) {
      const res = await dump('2.17', body);
      expect(res.status).toBe(400);
      expect(res.body.badRequest.message).toContain('trigger_crash_dump');
    }
    expect((await dump('2.17', { trigger_crash_dump: null }, otherToken)).status).toBe(404);
    expect((await compute('POST', '/servers/00000000-0000-4000-8000-000000000000/action', '2.17', { token: memberToken, body: { trigger_crash_dump: null } })).status).toBe(404);
    expect((await actionsOf()).map((a) => a.action)).toEqual(['create']);
  });

  it('202: the host injects an NMI; the server keeps its states and the event records success', async () => {
    const res = await dump('2.17');
    expect(res.status).toBe(202);
    expect(res.body).toBeUndefined();
    const [action] = await actionsOf();
    expect(action).toMatchObject({ action: 'trigger_crash_dump', instance_uuid: id, project_id: memberProjectId, message: null });
    expect(await finishedEvent(action.request_id)).toMatchObject({ event: 'compute_trigger_crash_dump', result: 'Success', traceback: null });
    const server = await show(id);
    expect(server).toMatchObject({ status: 'ACTIVE', 'OS-EXT-STS:task_state': null, 'OS-EXT-STS:power_state': 1 });
    // The fake driver logs the NMI on the guest's console, which the host publishes every few seconds.
    await waitFor('the NMI on the console', async () => {
      const console = await compute('POST', `/servers/${id}/action`, '2.17', { token: memberToken, body: { 'os-getConsoleOutput': {} } });
      return String(console.body?.output ?? '').includes('fake: NMI injected');
    });
  });

  it('409 when locked (for a member) and in the vm_states Nova refuses; PAUSED is allowed', async () => {
    expect((await compute('POST', `/servers/${id}/action`, '2.17', { body: { lock: null } })).status).toBe(202);
    expect((await dump('2.17')).body).toEqual({ conflictingRequest: { code: 409, message: `Instance ${id} is locked` } });
    expect((await compute('POST', `/servers/${id}/action`, '2.17', { body: { unlock: null } })).status).toBe(202);

    expect((await compute('POST', `/servers/${id}/action`, '2.17', { token: memberToken, body: { pause: null } })).status).toBe(202);
    await settled(id, 'PAUSED');
    expect((await dump('2.17')).status).toBe(202);
    const [paused] = await actionsOf();
    expect(paused.action).toBe('trigger_crash_dump');
    expect((await finishedEvent(paused.request_id)).result).toBe('Success');
    expect((await show(id)).status).toBe('PAUSED');
    expect((await compute('POST', `/servers/${id}/action`, '2.17', { token: memberToken, body: { unpause: null } })).status).toBe(202);
    await settled(id, 'ACTIVE');

    expect((await compute('POST', `/servers/${id}/action`, '2.17', { token: memberToken, body: { 'os-stop': null } })).status).toBe(202);
    await settled(id, 'SHUTOFF');
    expect((await dump('2.17')).body).toEqual({ conflictingRequest: { code: 409, message: `Cannot 'trigger_crash_dump' instance ${id} while it is in vm_state stopped` } });
    expect((await compute('POST', `/servers/${id}/action`, '2.17', { token: memberToken, body: { 'os-start': null } })).status).toBe(202);
    await settled(id, 'ACTIVE');
  });

  it('works through the openstack CLI (server dump create)', async () => {
    await openstack(['--os-compute-api-version', '2.17', 'server', 'dump', 'create', id]);
    const [action] = await actionsOf();
    expect(action.action).toBe('trigger_crash_dump');
    expect((await finishedEvent(action.request_id)).result).toBe('Success');
  });
});

describe('the conductor and a trigger_crash_dump report', () => {
  const host = uniqueName('mv-ghost-host');
  let instanceId: string;

  afterAll(async () => {
    const instance = await getInstance(instanceId);
    if (instance) await removeInstance(instance);
  });

  it('finishes only the event, once, from the instance host only; the action never stands for a task', async () => {
    // A pause is running; a crash dump recorded after it must not hide it from the pause's report.
    const instance = newInstance(uniqueName('mv-ghost-project'), { vm_state: VmState.ACTIVE, task_state: TaskState.PAUSING, task_deadline: deadlineFor(TaskState.PAUSING), host, power_state: PowerState.RUNNING });
    instanceId = instance.id;
    await createInstances([instance], { instances: 100, cores: 100, ram: 100_000 });
    const pause = newAction({ instanceId, action: 'pause', requestId: `req-${uniqueName('pause')}`, userId: 'u', projectId: instance.project_id });
    await recordAction(pause);
    await new Promise((r) => setTimeout(r, 5));
    const dump = newAction({ instanceId, action: 'trigger_crash_dump', requestId: `req-${uniqueName('dump')}`, userId: 'u', projectId: instance.project_id });
    await recordAction(dump);
    expect(newestTaskAction(await listActions(instanceId, true))?.request_id).toBe(pause.request_id);

    const report: ConductorMessage = {
      type: 'action_failed',
      host: 'some-other-host',
      at: new Date().toISOString(),
      request_id: dump.request_id,
      instance_id: instanceId,
      action: 'trigger_crash_dump',
      started_at: new Date().toISOString(),
      power_state: PowerState.RUNNING,
      reason: 'QMP inject-nmi failed',
    };
    await deliver(conductor, report);
    expect((await getAction(instanceId, dump.request_id))!.events.compute_trigger_crash_dump.done).toBe(false);

    await deliver(conductor, { ...report, host }, { ...report, host, type: 'action_done', reason: undefined });
    const finished = (await getAction(instanceId, dump.request_id))!;
    expect(finished.message).toBe('Error');
    expect(finished.events.compute_trigger_crash_dump).toMatchObject({ result: 'Error', traceback: 'QMP inject-nmi failed', done: true });
    expect(await getInstance(instanceId)).toEqual(instance);

    // The pause's own report still ends the pause.
    await deliver(conductor, { ...report, host, type: 'action_done', request_id: pause.request_id, action: 'pause', power_state: PowerState.PAUSED, reason: undefined });
    expect(await getInstance(instanceId)).toMatchObject({ vm_state: 'paused', task_state: null });
  });
});

describe('2.21: the actions of a deleted server', () => {
  let id: string;
  const actions = (version: string, token = memberToken, suffix = '') => compute('GET', `/servers/${id}/os-instance-actions${suffix}`, version, { token });

  beforeAll(async () => {
    id = (await boot(uniqueName('mv-deleted'))).id;
    await settled(id, 'ACTIVE');
    expect((await compute('DELETE', `/servers/${id}`, '2.1', { token: memberToken })).status).toBe(204);
    await waitFor(`server ${id} gone`, async () => (await compute('GET', `/servers/${id}`, '2.1')).status === 404);
  });

  it('are a 404 below 2.21 and readable from 2.21 by the project and admins', async () => {
    expect((await actions('2.20')).body).toEqual({ itemNotFound: { code: 404, message: `Instance ${id} could not be found.` } });
    const listed = await actions('2.21');
    expect(listed.status).toBe(200);
    expect(listed.body.instanceActions.map((a: Body) => a.action)).toEqual(['delete', 'create']);
    const del = listed.body.instanceActions[0];
    expect(del).toMatchObject({ instance_uuid: id, project_id: memberProjectId, message: null });

    const shown = await actions('2.21', memberToken, `/${del.request_id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.instanceAction).toMatchObject({ action: 'delete', request_id: del.request_id });
    expect(shown.body.instanceAction.events).toBeUndefined();
    const asAdmin = await actions('2.21', adminToken, `/${del.request_id}`);
    expect(asAdmin.body.instanceAction.events).toEqual([expect.objectContaining({ event: 'compute_terminate_instance', result: 'Success' })]);
    expect((await actions('2.20', memberToken, `/${del.request_id}`)).status).toBe(404);
    expect((await actions('2.21', memberToken, '/req-nope')).status).toBe(404);
  });

  it('include the delete of a server that never reached a host', async () => {
    const unplaced = newInstance(memberProjectId, { vm_state: VmState.ERROR, task_state: null });
    await createInstances([unplaced], { instances: 100, cores: 100, ram: 100_000 });
    expect((await compute('DELETE', `/servers/${unplaced.id}`, '2.1', { token: memberToken })).status).toBe(204);
    const listed = await compute('GET', `/servers/${unplaced.id}/os-instance-actions`, '2.21', { token: adminToken });
    expect(listed.body.instanceActions.map((a: Body) => a.action)).toEqual(['delete']);
  });

  it('stay hidden from other projects, and unknown servers are 404s', async () => {
    expect((await actions('2.21', otherToken)).body).toEqual({ itemNotFound: { code: 404, message: `Instance ${id} could not be found.` } });
    expect((await actions('2.21', otherToken, '/req-nope')).status).toBe(404);
    for (const server of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      expect((await compute('GET', `/servers/${server}/os-instance-actions`, '2.21', { token: memberToken })).status).toBe(404);
    }
  });

  it('go once their retention has passed, even before the TTL removes them', async () => {
    for (const action of await listActions(id)) {
      await dynamo().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: keys.instanceAction(id, action.request_id),
          UpdateExpression: 'SET expires_at = :e',
          ExpressionAttributeValues: { ':e': Math.floor(Date.now() / 1000) - 1 },
        }),
      );
    }
    expect((await actions('2.21')).status).toBe(404);
    expect((await actions('2.21', adminToken)).status).toBe(404);
  });
});
