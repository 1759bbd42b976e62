import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, issueToken, waitFor } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * The smaller compute APIs Nova's clients and tempest read: os-resetState, accessIPv4/v6,
 * os-migrations, os-server-password, os-server-external-events, os-instance_usage_audit_log and
 * os-simple-tenant-usage, against the shared test cloud.
 */
type Body = Record<string, any>;
let adminToken: string;
let member: ProjectMember;
let other: ProjectMember;
let imageId: string;
let serverId: string;

const V = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });
const compute = (method: string, path: string, token: string, body?: unknown, version = '2.37') => api(method, `/compute/v2.1${path}`, { token, body, headers: V(version) });
const show = async (id: string) => (await compute('GET', `/servers/${id}`, adminToken)).body.server as Body;

beforeAll(async () => {
  adminToken = await issueToken();
  [member, other, imageId] = await Promise.all([
    createProjectMember(uniqueName('adm-p'), adminToken),
    createProjectMember(uniqueName('adm-q'), adminToken),
    uploadTestImage(uniqueName('adm-image'), adminToken),
  ]);
  const res = await compute('POST', '/servers', member.token, { server: { name: uniqueName('adm'), imageRef: imageId, flavorRef: '1', networks: 'none', accessIPv4: '192.0.2.10', accessIPv6: '2001:db8::10' } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  serverId = res.body.server.id;
  await waitFor('the server ACTIVE', async () => (await show(serverId)).status === 'ACTIVE', 60_000);
});

afterAll(async () => {
  if (serverId) await compute('DELETE', `/servers/${serverId}`, adminToken);
});

describe('accessIPv4 and accessIPv6', () => {
  it('keeps the addresses given at create and update, and refuses what is not an address', async () => {
    expect(await show(serverId)).toMatchObject({ accessIPv4: '192.0.2.10', accessIPv6: '2001:db8::10' });
    const updated = await compute('PUT', `/servers/${serverId}`, member.token, { server: { accessIPv4: '192.0.2.11' } });
    expect(updated.body.server).toMatchObject({ accessIPv4: '192.0.2.11', accessIPv6: '2001:db8::10' });
    expect((await compute('PUT', `/servers/${serverId}`, member.token, { server: { accessIPv4: '999.1.1.1' } })).status).toBe(400);
    expect((await compute('PUT', `/servers/${serverId}`, member.token, { server: { accessIPv6: 'not-v6' } })).status).toBe(400);
  });
});

describe('os-resetState', () => {
  it('lets an admin set a server to error or active, and nobody else', async () => {
    const reset = (state: unknown, token = adminToken) => compute('POST', `/servers/${serverId}/action`, token, { 'os-resetState': { state } });
    expect((await reset('error', member.token)).status).toBe(403);
    expect((await reset('paused')).status).toBe(400);
    expect((await reset('error')).status).toBe(202);
    expect(await show(serverId)).toMatchObject({ status: 'ERROR', 'OS-EXT-STS:task_state': null });
    const errored = await compute('GET', `/servers/detail?status=ERROR&all_tenants=1`, adminToken);
    expect(errored.body.servers.map((s: Body) => s.id)).toContain(serverId);
    expect((await reset('active')).status).toBe(202);
    expect((await show(serverId)).status).toBe('ACTIVE');
  });
});

describe('os-migrations and server migrations', () => {
  it('lists a server that never moved with none, for admins, with filters checked', async () => {
    expect((await compute('GET', `/os-migrations?instance_uuid=${serverId}`, adminToken)).body).toEqual({ migrations: [] });
    expect((await compute('GET', '/os-migrations?migration_type=resize&host=x', adminToken)).status).toBe(200);
    // Nova's schema takes any migration_type (a type no migration has matches none); 2.59 refuses unknown parameters.
    expect((await compute('GET', '/os-migrations?migration_type=teleport', adminToken)).body).toEqual({ migrations: [] });
    expect((await compute('GET', '/os-migrations?teleport=1', adminToken, undefined, '2.59')).status).toBe(400);
    expect((await compute('GET', '/os-migrations', member.token)).status).toBe(403);
    expect((await compute('GET', `/servers/${serverId}/migrations`, adminToken, undefined, '2.23')).body).toEqual({ migrations: [] });
    expect((await compute('GET', `/servers/${serverId}/migrations`, adminToken, undefined, '2.22')).status).toBe(404);
  });
});

describe('os-server-password', () => {
  it('has no password to show (the metadata service takes none), clears nothing, and hides other projects’ servers', async () => {
    expect((await compute('GET', `/servers/${serverId}/os-server-password`, member.token)).body).toEqual({ password: '' });
    expect((await compute('DELETE', `/servers/${serverId}/os-server-password`, member.token)).status).toBe(204);
    expect((await compute('GET', `/servers/${serverId}/os-server-password`, other.token)).status).toBe(404);
  });
});

describe('os-server-external-events', () => {
  it('answers each event with its own code and the whole with 200 or 207 (Nova dropped its all-unknown 404)', async () => {
    const send = (events: unknown, token = adminToken) => compute('POST', '/os-server-external-events', token, { events });
    const known = { name: 'network-changed', server_uuid: serverId, tag: 'foo' };
    const unknown = { name: 'network-changed', server_uuid: '00000000-0000-4000-8000-000000000000' };
    const one = await send([known]);
    expect(one.status).toBe(200);
    expect(one.body.events).toEqual([{ ...known, status: 'completed', code: 200 }]);
    const mixed = await send([known, unknown]);
    expect(mixed.status).toBe(207);
    expect(mixed.body.events.map((e: Body) => e.code)).toEqual([200, 404]);
    expect((await send([unknown])).status).toBe(207);
    expect((await send([{ ...known, name: 'kaboom' }])).status).toBe(400);
    expect((await send([known], member.token)).status).toBe(403);
  });
});

describe('os-instance_usage_audit_log', () => {
  it('shows every host as not run (no audit runs here), for a month before now or a given time', async () => {
    const index = await compute('GET', '/os-instance_usage_audit_log', adminToken);
    expect(index.status).toBe(200);
    const log = index.body.instance_usage_audit_logs;
    expect(log).toMatchObject({ log: {}, num_hosts_done: 0, total_errors: 0, total_instances: 0 });
    expect(log.num_hosts).toBe(log.hosts_not_run.length);
    expect(log.overall_status).toBe(`0 of ${log.num_hosts} hosts done. 0 errors.`);
    const before = await compute('GET', `/os-instance_usage_audit_log/${encodeURIComponent('2012-07-05 10:00:00')}`, adminToken);
    expect(before.body.instance_usage_audit_log).toMatchObject({ period_beginning: '2012-06-01 00:00:00', period_ending: '2012-07-01 00:00:00' });
    expect((await compute('GET', '/os-instance_usage_audit_log/yesterday', adminToken)).status).toBe(400);
    expect((await compute('GET', '/os-instance_usage_audit_log', member.token)).status).toBe(403);
  });
});

describe('os-simple-tenant-usage', () => {
  it("sums the project's server hours over a period, for the project and admins", async () => {
    const end = new Date(Date.now() + 3_600_000).toISOString().replace('Z', '');
    const start = new Date(Date.now() - 3_600_000).toISOString().replace('Z', '');
    const own = await compute('GET', `/os-simple-tenant-usage/${member.projectId}?start=${start}&end=${end}`, member.token);
    expect(own.status).toBe(200);
    const usage = own.body.tenant_usage;
    expect(usage.tenant_id).toBe(member.projectId);
    expect(usage.server_usages.map((u: Body) => u.instance_id)).toEqual([serverId]);
    expect(usage.server_usages[0]).toMatchObject({ flavor: 'm1.tiny', vcpus: 1, memory_mb: 512, state: 'active' });
    expect(usage.total_hours).toBeGreaterThan(0);
    expect(usage.total_vcpus_usage).toBeCloseTo(usage.total_hours, 6);
    expect((await compute('GET', `/os-simple-tenant-usage/${member.projectId}`, other.token)).status).toBe(403);
    const all = await compute('GET', `/os-simple-tenant-usage?detailed=1&start=${start}&end=${end}`, adminToken);
    expect(all.body.tenant_usages.map((t: Body) => t.tenant_id)).toContain(member.projectId);
    expect((await compute('GET', `/os-simple-tenant-usage?start=${end}&end=${start}`, adminToken)).status).toBe(400);
    expect((await compute('GET', `/os-simple-tenant-usage`, member.token)).status).toBe(403);
  });
});

describe('os-hosts (below 2.43)', () => {
  it("lists the compute hosts with their zones, shows one host's resources, and enables and disables it", async () => {
    const hosts = (await compute('GET', '/os-hosts', adminToken)).body.hosts as Body[];
    const host = (await show(serverId))['OS-EXT-SRV-ATTR:host'] as string;
    const entry = hosts.find((h) => h.host_name === host)!;
    expect(entry).toMatchObject({ service: 'compute' });
    expect((await compute('GET', `/os-hosts?zone=${entry.zone}`, adminToken)).body.hosts).toContainEqual(entry);
    expect((await compute('GET', '/os-hosts?zone=nowhere-zone', adminToken)).body.hosts).toEqual([]);
    const detail = (await compute('GET', `/os-hosts/${host}`, adminToken)).body.host as Body[];
    expect(detail.map((r) => r.resource.project).slice(0, 3)).toEqual(['(total)', '(used_now)', '(used_max)']);
    expect(detail.find((r) => r.resource.project === member.projectId)?.resource).toMatchObject({ host, cpu: 1, memory_mb: 512 });
    expect((await compute('PUT', `/os-hosts/${host}`, adminToken, { status: 'disable' })).body).toEqual({ host, status: 'disabled' });
    expect((await compute('PUT', `/os-hosts/${host}`, adminToken, { status: 'enable' })).body).toEqual({ host, status: 'enabled' });
  });

  it("answers Nova's errors: 404s for unknown hosts, 400s for bad bodies, 403 for members, 501 for what the driver cannot do", async () => {
    const host = (await show(serverId))['OS-EXT-SRV-ATTR:host'] as string;
    expect((await compute('GET', '/os-hosts/no-such-host', adminToken)).status).toBe(404);
    expect((await compute('PUT', '/os-hosts/no-such-host', adminToken, { status: 'enable' })).status).toBe(404);
    expect((await compute('GET', '/os-hosts/no-such-host/reboot', adminToken)).status).toBe(404);
    expect((await compute('PUT', `/os-hosts/${host}`, adminToken, { status: 'invalid' })).status).toBe(400);
    expect((await compute('PUT', `/os-hosts/${host}`, adminToken, {})).status).toBe(400);
    expect((await compute('PUT', `/os-hosts/${host}`, adminToken, { maintenance_mode: 'enable' })).status).toBe(501);
    expect((await compute('GET', `/os-hosts/${host}/startup`, adminToken)).status).toBe(501);
    expect((await compute('GET', '/os-hosts', member.token)).status).toBe(403);
  });
});

describe('service and hypervisor ids', () => {
  it('are integers, as Nova gives them below 2.53', async () => {
    const services = (await compute('GET', '/os-services', adminToken)).body.services as Body[];
    const hypervisors = (await compute('GET', '/os-hypervisors', adminToken)).body.hypervisors as Body[];
    expect(services.length).toBeGreaterThan(0);
    expect(services.every((s) => Number.isInteger(s.id))).toBe(true);
    expect(hypervisors.every((h) => Number.isInteger(h.id))).toBe(true);
    expect(new Set(hypervisors.map((h) => h.id)).size).toBe(hypervisors.length);
  });
});

describe('ImagePropertiesFilter', () => {
  it('sends an image made for another architecture nowhere, and says which filter turned the hosts away', async () => {
    const image = await uploadTestImage(uniqueName('arm-image'), adminToken);
    const patched = await api('PATCH', `/image/v2/images/${image}`, {
      token: adminToken,
      rawBody: JSON.stringify([{ op: 'add', path: '/hw_architecture', value: 'aarch64' }]),
      headers: { 'Content-Type': 'application/openstack-images-v2.1-json-patch' },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const res = await compute('POST', '/servers', member.token, { server: { name: uniqueName('arm'), imageRef: image, flavorRef: '1', networks: 'none' } });
    expect(res.status).toBe(202);
    const server = await waitFor('the server in ERROR', async () => {
      const s = await show(res.body.server.id);
      return s.status === 'ERROR' ? s : undefined;
    }, 60_000);
    expect(server.fault.message).toMatch(/ImagePropertiesFilter rejected/);
    await compute('DELETE', `/servers/${server.id}`, adminToken);
    await api('DELETE', `/image/v2/images/${image}`, { token: adminToken });
  });
});

describe('os-hypervisors/{pattern}/servers', () => {
  it("lists the matching hypervisors with the servers each runs, by uuid and instance name; 404 when none matches", async () => {
    const host = (await show(serverId))['OS-EXT-SRV-ATTR:host'] as string;
    const res = await compute('GET', `/os-hypervisors/${host}/servers`, adminToken);
    const mine = (res.body.hypervisors as Body[]).find((h) => h.hypervisor_hostname === host)!;
    expect(mine.servers).toContainEqual({ uuid: serverId, name: (await show(serverId))['OS-EXT-SRV-ATTR:instance_name'] });
    expect((await compute('GET', '/os-hypervisors/no-such-pattern-x/servers', adminToken)).status).toBe(404);
    expect((await compute('GET', `/os-hypervisors/${host}/servers`, member.token)).status).toBe(403);
  });
});

describe('nova-scheduler and nova-conductor services', () => {
  it("are listed with a state read from their queues, and cannot be disabled", async () => {
    const services = (await compute('GET', '/os-services', adminToken)).body.services as Body[];
    for (const binary of ['nova-scheduler', 'nova-conductor']) {
      const row = services.find((s) => s.binary === binary)!;
      expect(row).toMatchObject({ host: 'control-plane', zone: 'internal', status: 'enabled', state: 'up', forced_down: false });
      expect(Number.isInteger(row.id)).toBe(true);
      // They have finished messages already (this file's boots): when they did is their updated_at.
      expect(Date.parse(row.updated_at)).toBeGreaterThan(0);
    }
    const scheduler = (await compute('GET', '/os-services?binary=nova-scheduler', adminToken)).body.services as Body[];
    expect(scheduler.map((s) => s.binary)).toEqual(['nova-scheduler']);
    const refused = await compute('PUT', '/os-services/disable', adminToken, { host: 'control-plane', binary: 'nova-conductor' });
    expect(refused.status).toBe(400);
    expect(refused.body.badRequest.message).toMatch(/cannot be disabled/);
  });

  it('goes down while its dead-letter queue holds a message, and up again once it is gone', async () => {
    const { SendMessageCommand, ReceiveMessageCommand, DeleteMessageCommand, GetQueueUrlCommand } = await import('@aws-sdk/client-sqs');
    const { queues } = await import('../../shared/aws.js');
    const url = (await queues().send(new GetQueueUrlCommand({ QueueName: 'novaless-conductor-dlq' }))).QueueUrl!;
    const marker = uniqueName('dead-letter');
    await queues().send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify({ marker }) }));
    const conductor = async () => ((await compute('GET', '/os-services?binary=nova-conductor', adminToken)).body.services as Body[])[0];
    try {
      expect((await conductor()).state).toBe('down');
    } finally {
      await waitFor('the dead letter removed', async () => {
        const got = await queues().send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
        for (const m of got.Messages ?? []) await queues().send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
        return (got.Messages ?? []).some((m) => m.Body?.includes(marker)) || undefined;
      }, 20_000);
    }
    expect((await conductor()).state).toBe('up');
  });
});

describe('servers listed by project for admins', () => {
  it('narrows an all_tenants listing by tenant_id or project_id, and ignores them without all_tenants (as Nova)', async () => {
    const ids = async (query: string) => ((await compute('GET', `/servers/detail?${query}`, adminToken)).body.servers as Body[]).map((s) => s.id);
    expect(await ids(`tenant_id=${member.projectId}`)).not.toContain(serverId);
    expect(await ids(`all_tenants=1&tenant_id=${member.projectId}`)).toEqual([serverId]);
    expect(await ids(`all_tenants=1&project_id=${member.projectId}`)).toEqual([serverId]);
    expect(await ids(`all_tenants=1&project_id=${other.projectId}`)).toEqual([]);
  });
});
