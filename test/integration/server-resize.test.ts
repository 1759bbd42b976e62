import '../support/cloud-env.js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as apiHandler } from '../../functions/api/handler.js';
import { sweepOverdueInstances } from '../../functions/sweeper/sweep.js';
import { apiGatewayProxy } from '../../infra/local/api-server.js';
import { stopAgent } from '../../infra/local/agents.js';
import { resetConfig } from '../../shared/config.js';
import { getHost, setHostStatus } from '../../shared/store/hosts.js';
import { getInstance, updateInstance } from '../../shared/store/instances.js';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { deliver } from '../support/queue-events.js';
import { api, issueToken, waitFor } from '../support/cloud.js';
import { hostInventory, retireHost, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';
import { startTestAgent } from '../support/test-agents.js';

/**
 * Resize (confirm, revert, auto-confirm), cold migration and os-migrations, end to end: the real
 * API, scheduler and conductor of the shared cloud and two real fake-driver agents alone in a zone
 * of their own. Every step checks both hosts' claims and the project's quota, so a claim or quota
 * counted twice or never released shows. Same-host resize and the confirm window are settings of
 * the API and the sweeper: those requests go to the API handler run in this process with them set
 * (as a second API function of the same cloud would be), and the sweeper runs here.
 */
type Body = Record<string, any>;
const zone = uniqueName('resize-zone');
const hostA = uniqueName('resize-a');
const hostB = uniqueName('resize-b');
const stateDir = mkdtempSync(join(tmpdir(), 'novaless-resize-'));
const V = { 'OpenStack-API-Version': 'compute 2.80' };

let adminToken: string;
let member: ProjectMember;
let imageId: string;
const agents: ChildProcess[] = [];
const flavors: Record<'small' | 'big' | 'smallDisk', string> = { small: '', big: '', smallDisk: '' };
let http: HttpServer;
let localBase: string;

const asAdmin = (method: string, path: string, body?: unknown) => api(method, `/compute/v2.1${path}`, { token: adminToken, body, headers: V });
const asMember = (method: string, path: string, body?: unknown) => api(method, `/compute/v2.1${path}`, { token: member.token, body, headers: V });
const act = (id: string, body: unknown, who = asMember) => who('POST', `/servers/${id}/action`, body);

/** A request to the in-process API (same-host resize allowed). */
async function localApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${localBase}/compute/v2.1${path}`, { method, headers: { 'X-Auth-Token': member.token, 'Content-Type': 'application/json', ...V }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const show = async (id: string): Promise<Body> => (await asAdmin('GET', `/servers/${id}`)).body.server;
async function settled(id: string, status: string): Promise<Body> {
  return waitFor(`server ${id} ${status}`, async () => {
    const s = await show(id);
    if (s.status === 'ERROR' && status !== 'ERROR') throw new Error(`server ${id} went to ERROR: ${JSON.stringify(s.fault)}`);
    return s.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  }, 60_000);
}
/** The server once its latest move ended in error: ACTIVE again, no task (Nova shows the fault of an ERROR server only). */
async function rolledBack(id: string): Promise<Body> {
  await waitFor(`the move of ${id} in error`, async () => (await migrationsOf(id))[0]?.status === 'error', 30_000);
  return settled(id, 'ACTIVE');
}
const hostOf = (s: Body) => s['OS-EXT-SRV-ATTR:host'] as string;
const otherHost = (h: string) => (h === hostA ? hostB : hostA);
const usage = async (host: string) => {
  const h = (await getHost(host))!;
  return { vcpus: h.used_vcpus, ram: h.used_memory_mb, disk: h.used_disk_gb, vms: h.running_vms };
};
const quota = async () => {
  const abs = (await asMember('GET', '/limits')).body.limits.absolute;
  return { instances: abs.totalInstancesUsed, cores: abs.totalCoresUsed, ram: abs.totalRAMUsed };
};
const migrationsOf = async (id: string): Promise<Body[]> => (await asAdmin('GET', `/os-migrations?instance_uuid=${id}`)).body.migrations;

async function flavor(name: string, vcpus: number, ram: number, disk: number): Promise<string> {
  const id = uniqueName(name);
  expect((await asAdmin('POST', '/flavors', { flavor: { name: id, id, ram, vcpus, disk } })).status).toBe(200);
  return id;
}

async function boot(flavorRef = flavors.small): Promise<Body> {
  const res = await asMember('POST', '/servers', { server: { name: uniqueName('resize-vm'), imageRef: imageId, flavorRef, networks: 'none', availability_zone: zone } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return settled(res.body.server.id, 'ACTIVE');
}

async function deleteServer(id: string): Promise<void> {
  await asAdmin('DELETE', `/servers/${id}`);
  await waitFor(`server ${id} deleted`, async () => (await asAdmin('GET', `/servers/${id}`)).status === 404, 60_000);
}

const idle = { vcpus: 0, ram: 0, disk: 0, vms: 0 };

beforeAll(async () => {
  process.env.ALLOW_RESIZE_TO_SAME_HOST = 'true';
  process.env.RESIZE_CONFIRM_WINDOW = '1';
  resetConfig();
  http = createServer(apiGatewayProxy(apiHandler as never));
  await new Promise<void>((res) => http.listen(0, '127.0.0.1', res));
  localBase = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  adminToken = await issueToken();
  for (const host of [hostA, hostB]) agents.push(startTestAgent({ host, zone, vcpus: 4, memoryMb: 4096, diskGb: 20, stateDir }));
  [member, imageId, flavors.small, flavors.big, flavors.smallDisk] = await Promise.all([
    createProjectMember(uniqueName('resize-p'), adminToken),
    uploadTestImage(uniqueName('resize-image'), adminToken),
    flavor('resize-small', 1, 256, 3),
    flavor('resize-big', 2, 512, 3),
    flavor('resize-smalldisk', 1, 128, 1),
  ]);
  await waitFor('both hosts registered', async () => !!(await getHost(hostA)) && !!(await getHost(hostB)), 60_000);
}, 120_000);

afterAll(async () => {
  http?.close();
  delete process.env.ALLOW_RESIZE_TO_SAME_HOST;
  delete process.env.RESIZE_CONFIRM_WINDOW;
  resetConfig();
  for (const id of Object.values(flavors)) if (id) await asAdmin('DELETE', `/flavors/${id}`);
  for (const agent of agents) await stopAgent(agent, 3_000);
  for (const host of [hostA, hostB]) if (await getHost(host)) await retireHost(host);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('resize', () => {
  it('goes to VERIFY_RESIZE on the other host holding both claims and the larger quota, and a confirm releases the source once', async () => {
    const server = await boot();
    const source = hostOf(server);
    const dest = otherHost(source);
    expect(await quota()).toEqual({ instances: 1, cores: 1, ram: 256 });

    expect((await act(server.id, { resize: { flavorRef: flavors.big } })).status).toBe(202);
    const resized = await settled(server.id, 'VERIFY_RESIZE');
    expect(hostOf(resized)).toBe(dest);
    expect(resized.flavor.original_name).toBe(flavors.big);
    expect(await usage(source)).toEqual({ vcpus: 1, ram: 256, disk: 3, vms: 1 });
    expect(await usage(dest)).toEqual({ vcpus: 2, ram: 512, disk: 3, vms: 1 });
    expect(await quota()).toEqual({ instances: 1, cores: 2, ram: 512 });

    const [migration] = await migrationsOf(server.id);
    expect(migration).toMatchObject({ status: 'finished', migration_type: 'resize', source_compute: source, dest_compute: dest, instance_uuid: server.id, project_id: member.projectId });
    expect(typeof migration.id).toBe('number');
    expect(migration.uuid).toMatch(/^[0-9a-f-]{36}$/);

    // A second resize, or a stop, waits for the confirm or revert (Nova's 409).
    expect((await act(server.id, { resize: { flavorRef: flavors.small } })).status).toBe(409);
    expect((await act(server.id, { confirmResize: null })).status).toBe(204);
    const confirmed = await settled(server.id, 'ACTIVE');
    expect(hostOf(confirmed)).toBe(dest);
    expect(await usage(source)).toEqual(idle);
    expect(await usage(dest)).toEqual({ vcpus: 2, ram: 512, disk: 3, vms: 1 });
    expect(await quota()).toEqual({ instances: 1, cores: 2, ram: 512 });
    expect((await migrationsOf(server.id))[0].status).toBe('confirmed');
    expect((await act(server.id, { confirmResize: null })).status).toBe(409);

    // The hosts' reports delivered again (SQS delivers at least once) change nothing: nothing is released twice.
    const before = await getInstance(server.id);
    const report = { type: 'migration', at: new Date().toISOString(), request_id: 'req-again', instance_id: server.id, migration_id: migration.uuid, power_state: 1 };
    await deliver(conductor, { ...report, host: source, step: 'confirmed' }, { ...report, host: dest, step: 'finished' }, { ...report, host: source, step: 'disk_ready' });
    expect((await getInstance(server.id))?.version).toBe(before?.version);
    expect(await usage(source)).toEqual(idle);
    expect(await quota()).toEqual({ instances: 1, cores: 2, ram: 512 });

    const actions = (await asMember('GET', `/servers/${server.id}/os-instance-actions`)).body.instanceActions.map((a: Body) => a.action);
    expect(actions.slice(0, 2)).toEqual(['confirmResize', 'resize']);
    await deleteServer(server.id);
    expect(await usage(dest)).toEqual(idle);
    expect(await quota()).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it('a revert brings the server back to its source with the old flavor, the destination claim and extra quota released once', async () => {
    const server = await boot(flavors.big);
    const source = hostOf(server);
    expect((await act(server.id, { resize: { flavorRef: flavors.small } })).status).toBe(202);
    await settled(server.id, 'VERIFY_RESIZE');
    // Down: the quota still holds the larger (old) flavor until the revert or confirm.
    expect(await quota()).toEqual({ instances: 1, cores: 2, ram: 512 });
    expect((await act(server.id, { revertResize: null })).status).toBe(202);
    const reverted = await settled(server.id, 'ACTIVE');
    expect(hostOf(reverted)).toBe(source);
    expect(reverted.flavor.original_name).toBe(flavors.big);
    expect(await usage(source)).toEqual({ vcpus: 2, ram: 512, disk: 3, vms: 1 });
    expect(await usage(otherHost(source))).toEqual(idle);
    expect(await quota()).toEqual({ instances: 1, cores: 2, ram: 512 });
    expect((await migrationsOf(server.id))[0].status).toBe('reverted');
    await deleteServer(server.id);
  });

  it('a resize of a stopped server keeps it stopped, and the confirm window confirms it on its own', async () => {
    const server = await boot();
    expect((await act(server.id, { 'os-stop': null })).status).toBe(202);
    await settled(server.id, 'SHUTOFF');
    expect((await act(server.id, { resize: { flavorRef: flavors.big } })).status).toBe(202);
    const resized = await settled(server.id, 'VERIFY_RESIZE');
    expect(resized['OS-EXT-STS:power_state']).toBe(4);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await sweepOverdueInstances()).confirmed).toBe(1);
    const confirmed = await settled(server.id, 'SHUTOFF');
    expect(await usage(otherHost(hostOf(confirmed)))).toEqual(idle);
    const actions = (await asMember('GET', `/servers/${server.id}/os-instance-actions`)).body.instanceActions.map((a: Body) => a.action);
    expect(actions[0]).toBe('confirmResize');
    await deleteServer(server.id);
  });

  it('deleting a server in VERIFY_RESIZE releases both claims and its quota once', async () => {
    const server = await boot();
    expect((await act(server.id, { resize: { flavorRef: flavors.big } })).status).toBe(202);
    await settled(server.id, 'VERIFY_RESIZE');
    await deleteServer(server.id);
    expect((await migrationsOf(server.id))[0].status).toBe('confirmed');
    expect(await usage(hostA)).toEqual(idle);
    expect(await usage(hostB)).toEqual(idle);
    expect(await quota()).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it('bad requests get Nova error bodies, and a failed move leaves the server on its source with its claims right', async () => {
    const server = await boot();
    const source = hostOf(server);
    expect((await act(server.id, { resize: { flavorRef: flavors.small } })).body.badRequest.message).toBe('When resizing, instances must change flavor!');
    expect((await act(server.id, { resize: { flavorRef: 'no-such-flavor' } })).body.badRequest.message).toBe('Flavor no-such-flavor could not be found.');
    expect((await act(server.id, { resize: {} })).status).toBe(400);
    expect((await act(server.id, { confirmResize: null })).body.conflictingRequest.message).toMatch(/Cannot 'confirmResize' instance .* while it is in vm_state active/);
    expect((await act(server.id, { revertResize: null })).status).toBe(409);
    expect((await act(server.id, { migrate: null })).status).toBe(403);

    // Over quota: the extra cores of a resize up are refused with Nova's 403.
    expect((await asAdmin('PUT', `/os-quota-sets/${member.projectId}`, { quota_set: { cores: 1 } })).status).toBe(200);
    try {
      const refused = await act(server.id, { resize: { flavorRef: flavors.big } });
      expect(refused.status).toBe(403);
      expect(refused.body.forbidden.message).toBe('Quota exceeded for cores: Requested 1, but already used 1 of 1 cores');
    } finally {
      await asAdmin('DELETE', `/os-quota-sets/${member.projectId}`);
    }

    // A smaller disk: the source refuses (Nova's libvirt), the server stays ACTIVE on its source with the fault.
    expect((await act(server.id, { resize: { flavorRef: flavors.smallDisk } })).status).toBe(202);
    const failed = await rolledBack(server.id);
    expect(hostOf(failed)).toBe(source);
    expect((await getInstance(server.id))?.fault?.message).toContain('Unable to resize disk down.');
    expect(await usage(source)).toEqual({ vcpus: 1, ram: 256, disk: 3, vms: 1 });
    expect(await usage(otherHost(source))).toEqual(idle);
    expect(await quota()).toEqual({ instances: 1, cores: 1, ram: 256 });
    await deleteServer(server.id);
  });

  it('on its own host only where allow_resize_to_same_host allows it', async () => {
    const server = await boot();
    const source = hostOf(server);
    const other = otherHost(source);
    await setHostStatus(other, 'disabled', 'resize test');
    try {
      expect((await act(server.id, { resize: { flavorRef: flavors.big } })).status).toBe(202);
      await rolledBack(server.id);
      expect((await getInstance(server.id))?.fault?.message).toMatch(/No valid host was found/);
      expect(await usage(source)).toEqual({ vcpus: 1, ram: 256, disk: 3, vms: 1 });

      expect((await localApi('POST', `/servers/${server.id}/action`, { resize: { flavorRef: flavors.big } })).status).toBe(202);
      const resized = await settled(server.id, 'VERIFY_RESIZE');
      expect(hostOf(resized)).toBe(source);
      expect(await usage(source)).toEqual({ vcpus: 3, ram: 768, disk: 6, vms: 2 });
      expect((await act(server.id, { revertResize: null })).status).toBe(202);
      const reverted = await settled(server.id, 'ACTIVE');
      expect(reverted.flavor.original_name).toBe(flavors.small);
      expect(await usage(source)).toEqual({ vcpus: 1, ram: 256, disk: 3, vms: 1 });
      expect(await quota()).toEqual({ instances: 1, cores: 1, ram: 256 });

      // Deleted in VERIFY_RESIZE on one host: both claims there released at once.
      expect((await localApi('POST', `/servers/${server.id}/action`, { resize: { flavorRef: flavors.big } })).status).toBe(202);
      await settled(server.id, 'VERIFY_RESIZE');
      await deleteServer(server.id);
      expect(await usage(source)).toEqual(idle);
      expect(await quota()).toEqual({ instances: 0, cores: 0, ram: 0 });
    } finally {
      await setHostStatus(other, 'enabled', null);
    }
  });
});

describe('deadlines', () => {
  it('a move whose destination never answers times out: back on its source in ERROR, the destination claim released once', async () => {
    const server = await boot();
    const source = hostOf(server);
    const dead = uniqueName('resize-dead');
    await deliver(conductor, { type: 'register', host: dead, at: new Date().toISOString(), inventory: hostInventory(dead, zone) });
    try {
      expect((await act(server.id, { migrate: { host: dead } }, asAdmin)).status).toBe(202);
      const stuck = await waitFor('the destination asked to finish', async () => {
        const i = await getInstance(server.id);
        return i?.task_state === 'resize_finish' ? i : undefined;
      });
      expect(await usage(dead)).toEqual({ vcpus: 1, ram: 256, disk: 3, vms: 1 });
      await updateInstance(stuck, { task_deadline: new Date(Date.now() - 1000).toISOString(), task_state: stuck.task_state });
      expect((await sweepOverdueInstances()).errored).toBeGreaterThanOrEqual(1);
      const swept = await show(server.id);
      expect(swept.status).toBe('ERROR');
      expect(hostOf(swept)).toBe(source);
      expect(swept.fault.message).toContain('resize_finish');
      expect(await usage(dead)).toEqual(idle);
      expect(await usage(source)).toEqual({ vcpus: 1, ram: 256, disk: 3, vms: 1 });
      expect(await quota()).toEqual({ instances: 1, cores: 1, ram: 256 });
      expect((await migrationsOf(server.id))[0].status).toBe('error');
      // The source brought its copy back: the guest runs there again.
      await waitFor('the guest running on its source', async () => (await show(server.id))['OS-EXT-STS:power_state'] === 1, 30_000);
    } finally {
      await retireHost(dead);
    }
    await deleteServer(server.id);
  });
});

describe('cold migration', () => {
  it('an admin moves a server to a named host (2.56), confirmed as a resize; bad hosts are 400', async () => {
    const server = await boot();
    const source = hostOf(server);
    const dest = otherHost(source);
    expect((await act(server.id, { migrate: { host: source } }, asAdmin)).body.badRequest.message).toBe('Cannot migrate to the host where the server exists.');
    expect((await act(server.id, { migrate: { host: 'no-such-host' } }, asAdmin)).body.badRequest.message).toBe('Compute host no-such-host could not be found.');
    expect((await act(server.id, { migrate: { host: dest, extra: 1 } }, asAdmin)).status).toBe(400);

    expect((await act(server.id, { migrate: { host: dest } }, asAdmin)).status).toBe(202);
    const moved = await settled(server.id, 'VERIFY_RESIZE');
    expect(hostOf(moved)).toBe(dest);
    expect(await usage(source)).toEqual({ vcpus: 1, ram: 256, disk: 3, vms: 1 });
    expect(await quota()).toEqual({ instances: 1, cores: 1, ram: 256 });
    expect((await act(server.id, { confirmResize: null })).status).toBe(204);
    await settled(server.id, 'ACTIVE');
    expect(await usage(source)).toEqual(idle);

    // The scheduler's choice (the only other host) takes it back.
    expect((await act(server.id, { migrate: null }, asAdmin)).status).toBe(202);
    expect(hostOf(await settled(server.id, 'VERIFY_RESIZE'))).toBe(source);
    expect((await act(server.id, { confirmResize: null })).status).toBe(204);
    await settled(server.id, 'ACTIVE');

    const listed = await migrationsOf(server.id);
    expect(listed.map((m) => [m.migration_type, m.status])).toEqual([['migration', 'confirmed'], ['migration', 'confirmed']]);
    expect(listed[0].new_instance_type_id).toBeNull();
    const old = (await api('GET', `/compute/v2.1/os-migrations?instance_uuid=${server.id}`, { token: adminToken })).body.migrations;
    expect(Object.keys(old[0]).sort()).toEqual(['created_at', 'dest_compute', 'dest_host', 'dest_node', 'id', 'instance_uuid', 'new_instance_type_id', 'old_instance_type_id', 'source_compute', 'source_node', 'status', 'updated_at']);
    const page = (await asAdmin('GET', `/os-migrations?instance_uuid=${server.id}&limit=1`)).body;
    expect(page.migrations).toHaveLength(1);
    expect(page.migrations_links[0].href).toContain(`marker=${page.migrations[0].uuid}`);
    expect((await asAdmin('GET', `/servers/${server.id}/migrations`)).body.migrations).toEqual([]);
    expect((await asMember('GET', '/os-migrations')).status).toBe(403);
    await deleteServer(server.id);
  });
});
