import '../support/cloud-env.js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAgent } from '../../infra/local/agents.js';
import { getHost } from '../../shared/store/hosts.js';
import { api, issueToken, openstackJson, waitFor } from '../support/cloud.js';
import { retireHost, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';
import { startTestAgent } from '../support/test-agents.js';

/**
 * os-aggregates end to end: the admin API, zones derived from aggregates, and the scheduler's
 * aggregate filters, on two real (fake-driver) agents registered in a zone of their own.
 */
const zone = uniqueName('agg-home');
const [hostA, hostB] = [uniqueName('agg-a'), uniqueName('agg-b')];
const stateDir = mkdtempSync(join(tmpdir(), 'novaless-agg-'));
const AGG = '/compute/v2.1/os-aggregates';
type Body = Record<string, any>;

let adminToken: string;
let member: ProjectMember;
let imageId: string;
const agents: ChildProcess[] = [];
const aggregates: number[] = [];
const flavors: string[] = [];

const admin = (method: string, path: string, body?: unknown) => api(method, path, { token: adminToken, body });
async function newAggregate(name: string, zoneName?: string): Promise<Body> {
  const res = await admin('POST', AGG, { aggregate: { name, ...(zoneName && { availability_zone: zoneName }) } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  aggregates.push(res.body.aggregate.id);
  return res.body.aggregate;
}
const act = (id: number, body: unknown) => admin('POST', `${AGG}/${id}/action`, body);

/** Boots a server (zone and flavor as given) and returns its host once it is ACTIVE, or its fault. */
async function bootOn(extra: Body, token = member.token): Promise<{ host?: string; fault?: string }> {
  const res = await api('POST', '/compute/v2.1/servers', {
    token,
    headers: { 'OpenStack-API-Version': 'compute 2.37' },
    body: { server: { name: uniqueName('agg-vm'), imageRef: imageId, flavorRef: '1', networks: 'none', ...extra } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const server = await waitFor('the server settled', async () => {
    const s = (await api('GET', `/compute/v2.1/servers/${res.body.server.id}`, { token: adminToken })).body.server as Body;
    return s.status === 'ACTIVE' || s.status === 'ERROR' ? s : undefined;
  }, 60_000);
  await api('DELETE', `/compute/v2.1/servers/${server.id}`, { token: adminToken });
  return server.status === 'ACTIVE' ? { host: server['OS-EXT-SRV-ATTR:host'] } : { fault: server.fault?.message };
}

beforeAll(async () => {
  adminToken = await issueToken();
  for (const host of [hostA, hostB]) agents.push(startTestAgent({ host, zone, vcpus: 8, memoryMb: 10240, diskGb: 100, stateDir }));
  [member, imageId] = await Promise.all([createProjectMember(uniqueName('agg-p'), adminToken), uploadTestImage(uniqueName('agg-image'), adminToken)]);
  await waitFor('both hosts registered', async () => !!(await getHost(hostA)) && !!(await getHost(hostB)), 60_000);
});

afterAll(async () => {
  for (const id of aggregates) {
    const shown = await admin('GET', `${AGG}/${id}`);
    for (const host of (shown.body.aggregate?.hosts ?? []) as string[]) await act(id, { remove_host: { host } });
    await admin('DELETE', `${AGG}/${id}`);
  }
  for (const id of flavors) await admin('DELETE', `/compute/v2.1/flavors/${id}`);
  await Promise.all(agents.map((a) => stopAgent(a, 3_000)));
  for (const host of [hostA, hostB]) if (await getHost(host)) await retireHost(host);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('the os-aggregates API', () => {
  it('creates, shows, updates and deletes an aggregate, for admins only', async () => {
    expect((await api('GET', AGG, { token: member.token })).status).toBe(403);
    const name = uniqueName('agg');
    const created = await newAggregate(name, uniqueName('zone'));
    expect(Object.keys(created).sort()).toEqual(['availability_zone', 'created_at', 'deleted', 'deleted_at', 'id', 'name', 'updated_at']);
    expect(Number.isInteger(created.id)).toBe(true);
    expect((await admin('POST', AGG, { aggregate: { name } })).status).toBe(409);
    const shown = (await admin('GET', `${AGG}/${created.id}`)).body.aggregate;
    expect(shown).toMatchObject({ hosts: [], metadata: { availability_zone: created.availability_zone }, deleted: false });
    const renamed = await admin('PUT', `${AGG}/${created.id}`, { aggregate: { name: `${name}-2`, availability_zone: null } });
    expect(renamed.body.aggregate).toMatchObject({ name: `${name}-2`, availability_zone: null, metadata: {} });
    expect((await admin('GET', AGG)).body.aggregates.map((a: Body) => a.id)).toContain(created.id);
    expect((await admin('DELETE', `${AGG}/${created.id}`)).status).toBe(200);
    expect((await admin('GET', `${AGG}/${created.id}`)).status).toBe(404);
  });

  it('answers bad input with 400s and unknown things with 404s', async () => {
    expect((await admin('POST', AGG, { aggregate: { name: 'x', availability_zone: 'a:b' } })).status).toBe(400);
    expect((await admin('POST', AGG, { aggregate: {} })).status).toBe(400);
    expect((await admin('GET', `${AGG}/999999`)).status).toBe(404);
    expect((await admin('GET', `${AGG}/not-a-number`)).status).toBe(404);
    const a = await newAggregate(uniqueName('agg'));
    expect((await act(a.id, { add_host: { host: 'no-such-host' } })).status).toBe(404);
    expect((await act(a.id, { remove_host: { host: hostA } })).status).toBe(404);
    expect((await act(a.id, { dance: {} })).status).toBe(400);
  });
});

describe('zones and scheduling through aggregates', () => {
  it('puts a host in the zone of its aggregate: zone lists, hypervisors and boots follow', async () => {
    const london = uniqueName('london');
    const a = await newAggregate(uniqueName('agg-zone'), london);
    const added = await act(a.id, { add_host: { host: hostA } });
    expect(added.status).toBe(200);
    expect(added.body.aggregate.hosts).toEqual([hostA]);
    expect((await act(a.id, { add_host: { host: hostA } })).status).toBe(409);
    const zones = (await admin('GET', '/compute/v2.1/os-availability-zone/detail')).body.availabilityZoneInfo as Body[];
    expect(Object.keys(zones.find((z) => z.zoneName === london)!.hosts)).toEqual([hostA]);
    expect(await bootOn({ availability_zone: london })).toEqual({ host: hostA });
    // The host keeps one zone: another aggregate of another zone cannot take it.
    const paris = await newAggregate(uniqueName('agg-zone'), uniqueName('paris'));
    const clash = await act(paris.id, { add_host: { host: hostA } });
    expect(clash.status).toBe(400);
    expect(clash.body.badRequest.message).toMatch(/already in availability zone/);
    // Out of the aggregate, the host is back in the zone it registered with.
    expect((await act(a.id, { remove_host: { host: hostA } })).status).toBe(200);
    expect((await getHost(hostA))!.aggregate_zone).toBeNull();
    const gone = await api('POST', '/compute/v2.1/servers', {
      token: member.token,
      headers: { 'OpenStack-API-Version': 'compute 2.37' },
      body: { server: { name: uniqueName('agg-vm'), imageRef: imageId, flavorRef: '1', networks: 'none', availability_zone: london } },
    });
    expect(gone.status).toBe(400);
    expect(gone.body.badRequest.message).toBe('The requested availability zone is not available');
  });

  it('sends a flavor with aggregate extra specs to the hosts whose aggregates match, and isolates hosts for named projects', async () => {
    const fast = await newAggregate(uniqueName('agg-ssd'));
    await act(fast.id, { add_host: { host: hostB } });
    expect((await act(fast.id, { set_metadata: { metadata: { ssd: 'true' } } })).body.aggregate.metadata).toEqual({ ssd: 'true' });
    const flavorId = uniqueName('ssd-flavor');
    expect((await admin('POST', '/compute/v2.1/flavors', { flavor: { name: flavorId, id: flavorId, ram: 256, vcpus: 1, disk: 1 } })).status).toBe(200);
    flavors.push(flavorId);
    await admin('POST', `/compute/v2.1/flavors/${flavorId}/os-extra_specs`, { extra_specs: { 'aggregate_instance_extra_specs:ssd': 'true' } });
    for (let n = 0; n < 2; n++) expect(await bootOn({ availability_zone: zone, flavorRef: flavorId })).toEqual({ host: hostB });

    // hostB only for another project: the member's boot in the zone goes to hostA.
    await act(fast.id, { set_metadata: { metadata: { ssd: null, filter_tenant_id: 'someone-else' } } });
    for (let n = 0; n < 2; n++) expect(await bootOn({ availability_zone: zone })).toEqual({ host: hostA });
    // hostB for the member's project, hostA for someone else: the member's boots go to hostB.
    await act(fast.id, { set_metadata: { metadata: { filter_tenant_id: member.projectId } } });
    const others = await newAggregate(uniqueName('agg-others'));
    await act(others.id, { add_host: { host: hostA } });
    await act(others.id, { set_metadata: { metadata: { filter_tenant_id: 'someone-else' } } });
    for (let n = 0; n < 2; n++) expect(await bootOn({ availability_zone: zone })).toEqual({ host: hostB });
    const cannotDelete = await admin('DELETE', `${AGG}/${fast.id}`);
    expect(cannotDelete.status).toBe(400);
  });

  it('works through the openstack CLI: aggregate create --zone, add host, show', async () => {
    const name = uniqueName('agg-cli');
    const created = await openstackJson(['aggregate', 'create', '--zone', uniqueName('cli-zone'), name]);
    aggregates.push(Number(created.id));
    await openstackJson(['aggregate', 'add', 'host', name, hostB]);
    const shown = await openstackJson(['aggregate', 'show', name]);
    expect(String(shown.hosts)).toContain(hostB);
    await openstackJson(['aggregate', 'remove', 'host', name, hostB]);
  });
});
