import '../support/cloud-env.js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAgent } from '../../infra/local/agents.js';
import { getHost } from '../../shared/store/hosts.js';
import { api, createProjectUser, issueToken, openstackJson, waitFor } from '../support/cloud.js';
import { retireHost, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';
import { startTestAgent } from '../support/test-agents.js';

/**
 * os-server-groups end to end: the API, the `group` hint at boot, and the scheduler's filters,
 * weighers and conditional placements, on three real (fake-driver) agents of a zone of their own.
 */
const zone = uniqueName('sg-zone');
const hostNames = [uniqueName('sg-a'), uniqueName('sg-b'), uniqueName('sg-c')];
const stateDir = mkdtempSync(join(tmpdir(), 'novaless-sg-'));
const GROUPS = '/compute/v2.1/os-server-groups';
type Body = Record<string, any>;

let adminToken: string;
let member: ProjectMember;
let other: ProjectMember;
let imageId: string;
const agents: ChildProcess[] = [];
const servers: string[] = [];

const at = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });
const newGroup = (policy: string, version = '2.15', token = member.token) =>
  api('POST', GROUPS, { token, headers: at(version), body: { server_group: { name: uniqueName('sg'), policies: [policy] } } });

async function bootInGroup(groupId: string, count = 1, token = member.token) {
  const res = await api('POST', '/compute/v2.1/servers', {
    token,
    headers: at('2.37'),
    body: {
      server: { name: uniqueName('sg-vm'), imageRef: imageId, flavorRef: '1', availability_zone: zone, networks: 'none', min_count: count, max_count: count, return_reservation_id: true },
      'os:scheduler_hints': { group: groupId },
    },
  });
  return res;
}

/** The group's members once each is ACTIVE or ERROR, with their hosts. */
async function settledMembers(groupId: string, count: number, token = member.token): Promise<Body[]> {
  return waitFor(`${count} members settled`, async () => {
    const members = (await api('GET', `${GROUPS}/${groupId}`, { token })).body.server_group.members as string[];
    if (members.length !== count) return undefined;
    const shown = await Promise.all(members.map(async (id) => (await api('GET', `/compute/v2.1/servers/${id}`, { token: adminToken })).body.server as Body));
    return shown.every((s) => s.status === 'ACTIVE' || s.status === 'ERROR') ? shown : undefined;
  }, 60_000, 500);
}

beforeAll(async () => {
  adminToken = await issueToken();
  for (const host of hostNames) agents.push(startTestAgent({ host, zone, vcpus: 8, memoryMb: 10240, diskGb: 100, stateDir }));
  [member, other, imageId] = await Promise.all([
    createProjectMember(uniqueName('sg-p'), adminToken),
    createProjectMember(uniqueName('sg-q'), adminToken),
    uploadTestImage(uniqueName('sg-image'), adminToken),
  ]);
  await waitFor('the three hosts up', async () => {
    const res = await api('GET', '/compute/v2.1/os-hypervisors/detail', { token: adminToken });
    return (res.body.hypervisors as Body[]).filter((h) => hostNames.includes(h.hypervisor_hostname) && h.state === 'up').length === 3;
  }, 60_000);
});

afterAll(async () => {
  const ids = (await api('GET', '/compute/v2.1/servers/detail?all_tenants=1', { token: adminToken })).body.servers.filter((s: Body) => s['OS-EXT-AZ:availability_zone'] === zone || servers.includes(s.id));
  await Promise.all(ids.map((s: Body) => api('DELETE', `/compute/v2.1/servers/${s.id}`, { token: adminToken })));
  await waitFor('the zone empty', async () => {
    const left = (await api('GET', '/compute/v2.1/servers/detail?all_tenants=1', { token: adminToken })).body.servers.filter((s: Body) => ids.some((i: Body) => i.id === s.id));
    return left.length === 0;
  }, 60_000);
  await Promise.all(agents.map((a) => stopAgent(a, 3_000)));
  for (const host of hostNames) if (await getHost(host)) await retireHost(host);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('the os-server-groups API', () => {
  it('creates, shows, lists and deletes a group, with project and user from 2.13', async () => {
    const created = await newGroup('anti-affinity', '2.13');
    expect(created.status).toBe(200);
    const g = created.body.server_group;
    expect(g).toMatchObject({ policies: ['anti-affinity'], members: [], metadata: {}, project_id: member.projectId });
    expect(typeof g.user_id).toBe('string');
    const old = await api('GET', `${GROUPS}/${g.id}`, { token: member.token });
    expect(Object.keys(old.body.server_group).sort()).toEqual(['id', 'members', 'metadata', 'name', 'policies']);
    expect((await api('GET', GROUPS, { token: member.token })).body.server_groups.map((x: Body) => x.id)).toContain(g.id);
    // Another project neither lists nor sees it; an admin does, with all_projects.
    expect((await api('GET', GROUPS, { token: other.token })).body.server_groups.map((x: Body) => x.id)).not.toContain(g.id);
    expect((await api('GET', `${GROUPS}/${g.id}`, { token: other.token })).status).toBe(404);
    expect((await api('GET', `${GROUPS}?all_projects=True`, { token: adminToken })).body.server_groups.map((x: Body) => x.id)).toContain(g.id);
    expect((await api('DELETE', `${GROUPS}/${g.id}`, { token: other.token })).status).toBe(404);
    expect((await api('DELETE', `${GROUPS}/${g.id}`, { token: member.token })).status).toBe(204);
    expect((await api('GET', `${GROUPS}/${g.id}`, { token: member.token })).status).toBe(404);
  });

  it('refuses bad policies (the soft ones before 2.15) and bad bodies with 400s', async () => {
    expect((await newGroup('soft-affinity', '2.14')).status).toBe(400);
    expect((await newGroup('best-effort')).status).toBe(400);
    for (const body of [{}, { server_group: { name: 'x' } }, { server_group: { name: 'x', policies: ['affinity', 'anti-affinity'] } }, { server_group: { name: ' x', policies: ['affinity'] } }]) {
      expect((await api('POST', GROUPS, { token: member.token, body })).status).toBe(400);
    }
  });

  it('counts groups against the server_groups quota (10), atomically', async () => {
    const quotaProject = await createProjectMember(uniqueName('sg-quota'), adminToken);
    const results = await Promise.all(Array.from({ length: 12 }, () => newGroup('affinity', '2.15', quotaProject.token)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 403).map((r) => r.body.forbidden.message)).toEqual(Array(2).fill('Quota exceeded, too many server groups.'));
    const detail = await api('GET', `/compute/v2.1/os-quota-sets/${quotaProject.projectId}/detail`, { token: quotaProject.token });
    expect(detail.body.quota_set.server_groups).toMatchObject({ in_use: 10, limit: 10 });
  });
});

describe('scheduling members', () => {
  /** A project of its own per test: the instances quota (10) would otherwise run out. */
  const fresh = () => createProjectMember(uniqueName('sg-p'), adminToken);
  const groupOf = async (p: ProjectMember, policy: string) => (await newGroup(policy, '2.15', p.token)).body.server_group as Body;

  it('puts the members of an anti-affinity group on different hosts, even booted at once, and refuses one too many', async () => {
    const p = await fresh();
    const g = await groupOf(p, 'anti-affinity');
    expect((await bootInGroup(g.id, 4, p.token)).status).toBe(202);
    const members = await settledMembers(g.id, 4, p.token);
    const active = members.filter((s) => s.status === 'ACTIVE');
    expect(active).toHaveLength(3);
    expect(new Set(active.map((s) => s['OS-EXT-SRV-ATTR:host'])).size).toBe(3);
    const failed = members.find((s) => s.status === 'ERROR')!;
    expect(failed.fault.message).toMatch(/No valid host was found/);
  });

  it('2.64: an anti-affinity group with max_server_per_host 2 puts up to two members on each host, and refuses one too many', async () => {
    const p = await fresh();
    const created = await api('POST', GROUPS, { token: p.token, headers: at('2.64'), body: { server_group: { name: uniqueName('sg'), policy: 'anti-affinity', rules: { max_server_per_host: 2 } } } });
    expect(created.status).toBe(200);
    expect((await bootInGroup(created.body.server_group.id, 7, p.token)).status).toBe(202);
    const members = await settledMembers(created.body.server_group.id, 7, p.token);
    const active = members.filter((s) => s.status === 'ACTIVE');
    expect(active).toHaveLength(6);
    const perHost = new Map<string, number>();
    for (const s of active) perHost.set(s['OS-EXT-SRV-ATTR:host'], (perHost.get(s['OS-EXT-SRV-ATTR:host']) ?? 0) + 1);
    expect([...perHost.values()]).toEqual([2, 2, 2]);
    expect(members.find((s) => s.status === 'ERROR')!.fault.message).toMatch(/No valid host was found/);
  });

  it('puts the members of an affinity group on one host, booted at once', async () => {
    const p = await fresh();
    const g = await groupOf(p, 'affinity');
    expect((await bootInGroup(g.id, 3, p.token)).status).toBe(202);
    const members = await settledMembers(g.id, 3, p.token);
    expect(members.map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
    expect(new Set(members.map((s) => s['OS-EXT-SRV-ATTR:host'])).size).toBe(1);
  });

  it('spreads a soft-anti-affinity group and gathers a soft-affinity one, without refusing', async () => {
    const p = await fresh();
    const spread = await groupOf(p, 'soft-anti-affinity');
    const gather = await groupOf(p, 'soft-affinity');
    for (let n = 0; n < 3; n++) {
      expect((await bootInGroup(spread.id, 1, p.token)).status).toBe(202);
      await settledMembers(spread.id, n + 1, p.token);
      expect((await bootInGroup(gather.id, 1, p.token)).status).toBe(202);
      await settledMembers(gather.id, n + 1, p.token);
    }
    expect(new Set((await settledMembers(spread.id, 3, p.token)).map((s) => s['OS-EXT-SRV-ATTR:host'])).size).toBe(3);
    expect(new Set((await settledMembers(gather.id, 3, p.token)).map((s) => s['OS-EXT-SRV-ATTR:host'])).size).toBe(1);
  });

  it('frees a deleted member’s place, so the next member may take its host', async () => {
    const p = await fresh();
    const g = await groupOf(p, 'anti-affinity');
    expect((await bootInGroup(g.id, 3, p.token)).status).toBe(202);
    const [first] = await settledMembers(g.id, 3, p.token);
    expect((await api('DELETE', `/compute/v2.1/servers/${first.id}`, { token: p.token })).status).toBe(204);
    await waitFor('the member gone from its group', async () => {
      const members = (await api('GET', `${GROUPS}/${g.id}`, { token: p.token })).body.server_group.members as string[];
      return members.length === 2;
    }, 30_000);
    expect((await bootInGroup(g.id, 1, p.token)).status).toBe(202);
    const members = await settledMembers(g.id, 3, p.token);
    expect(members.map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
    expect(new Set(members.map((s) => s['OS-EXT-SRV-ATTR:host'])).size).toBe(3);
  });

  it("refuses a hint naming another project's group, or no group, and a group already full (server_group_members 10)", async () => {
    const p = await fresh();
    const theirs = await groupOf(other, 'affinity');
    expect((await bootInGroup(theirs.id, 1, p.token)).status).toBe(400);
    expect((await bootInGroup('not-a-uuid', 1, p.token)).status).toBe(400);
    const g = await groupOf(p, 'soft-affinity');
    expect((await bootInGroup(g.id, 10, p.token)).status).toBe(202);
    // An admin of a project of its own (its instances quota is free) may boot into the group: one member too many.
    const admin = await createProjectUser(uniqueName('sg-admin'), 'admin');
    const over = await bootInGroup(g.id, 1, await issueToken(admin));
    expect(over.status).toBe(403);
    expect(over.body.forbidden.message).toBe('Quota exceeded, too many servers in group');
    expect((await api('GET', `${GROUPS}/${g.id}`, { token: p.token })).body.server_group.members).toHaveLength(10);
  });

  it('works through the openstack CLI: server group create and show', async () => {
    const g = await openstackJson(['--os-compute-api-version', '2.15', 'server', 'group', 'create', '--policy', 'soft-anti-affinity', uniqueName('sg-cli')], member);
    expect(String(g.policy ?? g.policies)).toMatch(/soft-anti-affinity/);
    const shown = await openstackJson(['server', 'group', 'show', String(g.id)], member);
    expect(shown.id).toBe(g.id);
  });
});

describe('the same_host and different_host hints, and forcing a host', () => {
  async function boot(p: ProjectMember | { token: string }, hints: Body, zoneName = zone): Promise<Body> {
    const res = await api('POST', '/compute/v2.1/servers', {
      token: p.token,
      headers: at('2.37'),
      body: { server: { name: uniqueName('hint-vm'), imageRef: imageId, flavorRef: '1', availability_zone: zoneName, networks: 'none' }, 'os:scheduler_hints': hints },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return waitFor('the server settled', async () => {
      const s = (await api('GET', `/compute/v2.1/servers/${res.body.server.id}`, { token: adminToken })).body.server as Body;
      return s.status === 'ACTIVE' || s.status === 'ERROR' ? s : undefined;
    }, 60_000);
  }

  it('puts a server beside the servers same_host names and away from those different_host names', async () => {
    const p = await createProjectMember(uniqueName('hint-p'), adminToken);
    const first = await boot(p, {});
    const beside = await boot(p, { same_host: first.id });
    const away = await boot(p, { different_host: [first.id] });
    expect(beside['OS-EXT-SRV-ATTR:host']).toBe(first['OS-EXT-SRV-ATTR:host']);
    expect(away.status).toBe('ACTIVE');
    expect(away['OS-EXT-SRV-ATTR:host']).not.toBe(first['OS-EXT-SRV-ATTR:host']);
    const bad = await api('POST', '/compute/v2.1/servers', { token: p.token, headers: at('2.37'), body: { server: { name: 'x', imageRef: imageId, flavorRef: '1', networks: 'none' }, 'os:scheduler_hints': { same_host: 'nope' } } });
    expect(bad.status).toBe(400);
  });

  it('lets an admin force a host with availability_zone zone:host, and nobody else', async () => {
    const p = await createProjectMember(uniqueName('hint-q'), adminToken);
    const target = hostNames[2];
    const forced = await boot({ token: adminToken }, {}, `${zone}:${target}`);
    expect(forced['OS-EXT-SRV-ATTR:host']).toBe(target);
    expect(forced['OS-EXT-AZ:availability_zone']).toBe(zone);
    servers.push(forced.id);
    const refused = await api('POST', '/compute/v2.1/servers', { token: p.token, headers: at('2.37'), body: { server: { name: 'x', imageRef: imageId, flavorRef: '1', networks: 'none', availability_zone: `${zone}:${target}` } } });
    expect(refused.status).toBe(403);
    const unknown = await api('POST', '/compute/v2.1/servers', { token: adminToken, headers: at('2.37'), body: { server: { name: 'x', imageRef: imageId, flavorRef: '1', networks: 'none', availability_zone: `${zone}:no-such-host` } } });
    expect(unknown.status).toBe(400);
  });
});
