import '../support/cloud-env.js';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiGatewayProxy } from '../../infra/local/api-server.js';
import { handler as apiHandler } from '../../functions/api/handler.js';
import { sweepOverdueInstances } from '../../functions/sweeper/sweep.js';
import { resetConfig } from '../../shared/config.js';
import { makeQcow2 } from '../support/cli-artifacts.js';
import { adminCredentials, api, issueToken, openstackJson, waitFor } from '../support/cloud.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';
import { uniqueName } from '../support/fixtures.js';

/**
 * Soft delete (Nova's reclaim_instance_interval), restore and forceDelete, and deleted servers in
 * server lists. The shared test cloud deletes at once, so these requests go to the real API
 * handler run in this process with a reclaim interval set (as a second API function of the same
 * cloud would be): same table, queues, conductor and fake-driver host agents.
 */
type Server = Record<string, any>;

let dir: string;
let http: HttpServer;
let base: string;
let member: ProjectMember;
let memberToken: string;
let adminToken: string;
let imageId: string;
const V = { 'OpenStack-API-Version': 'compute 2.37' };

/** A request to the in-process API, which soft-deletes. */
async function softApi(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/compute/v2.1${path}`, {
    method,
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json', ...V },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const show = async (id: string): Promise<Server | undefined> => (await softApi('GET', `/servers/${id}`, adminToken)).body?.server;
const act = (id: string, body: unknown, token = memberToken) => softApi('POST', `/servers/${id}/action`, token, body);
const instancesUsed = async () => (await softApi('GET', '/limits', memberToken)).body.limits.absolute.totalInstancesUsed as number;

async function settled(id: string, status: string): Promise<Server> {
  return waitFor(`server ${id} ${status}`, async () => {
    const s = await show(id);
    return s?.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  }, 60_000);
}

async function boot(name: string): Promise<string> {
  const res = await softApi('POST', '/servers', memberToken, { server: { name, imageRef: imageId, flavorRef: '1', networks: 'none' } });
  expect(res.status).toBe(202);
  await settled(res.body.server.id, 'ACTIVE');
  return res.body.server.id;
}

const gone = (id: string) => waitFor(`server ${id} deleted`, async () => (await softApi('GET', `/servers/${id}`, adminToken)).status === 404, 60_000);

beforeAll(async () => {
  process.env.RECLAIM_INSTANCE_INTERVAL = '3600';
  resetConfig();
  http = createServer(apiGatewayProxy(apiHandler as never));
  await new Promise<void>((res) => http.listen(0, '127.0.0.1', res));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'novaless-soft-delete-'));
  adminToken = await issueToken(adminCredentials());
  member = await createProjectMember(uniqueName('soft-delete'), adminToken);
  memberToken = member.token;
  const qcow2 = await makeQcow2(dir);
  imageId = String((await openstackJson(['image', 'create', '--file', qcow2.path, '--disk-format', 'qcow2', '--container-format', 'bare', uniqueName('soft-delete-image')], member)).id);
});

afterAll(async () => {
  http?.close();
  delete process.env.RECLAIM_INSTANCE_INTERVAL;
  resetConfig();
  rmSync(dir, { recursive: true, force: true });
});

describe('soft delete and restore', () => {
  it('a deleted server is SOFT_DELETED and powered off, out of the quota, and restores to ACTIVE', async () => {
    const id = await boot('soft-1');
    const used = await instancesUsed();
    expect((await act(id, { restore: null })).status).toBe(409); // not soft-deleted (tempest test_restore_server_invalid_state)

    expect((await softApi('DELETE', `/servers/${id}`, memberToken)).status).toBe(204);
    const deleted = await settled(id, 'SOFT_DELETED');
    expect(deleted['OS-EXT-STS:power_state']).toBe(4);
    expect(await instancesUsed()).toBe(used - 1);
    const listed = (await softApi('GET', '/servers/detail', memberToken)).body.servers as Server[];
    expect(listed.find((s) => s.id === id)?.status).toBe('SOFT_DELETED');

    expect((await act(id, { restore: null })).status).toBe(202);
    const restored = await settled(id, 'ACTIVE');
    expect(restored['OS-EXT-STS:power_state']).toBe(1);
    expect(await instancesUsed()).toBe(used);
    const actions = (await softApi('GET', `/servers/${id}/os-instance-actions`, memberToken)).body.instanceActions.map((a: Server) => a.action);
    expect(actions.slice(0, 2)).toEqual(['restore', 'soft_delete']);
    await softApi('POST', `/servers/${id}/action`, memberToken, { forceDelete: null });
    await gone(id);
  });

  it('forceDelete deletes a soft-deleted server for good, its quota released once', async () => {
    const id = await boot('soft-2');
    const used = await instancesUsed();
    await softApi('DELETE', `/servers/${id}`, memberToken);
    await settled(id, 'SOFT_DELETED');
    expect((await act(id, { forceDelete: null })).status).toBe(202);
    await gone(id);
    expect(await instancesUsed()).toBe(used - 1);
    expect((await act(id, { restore: null })).status).toBe(404);
    expect((await act(randomUUID(), { forceDelete: null })).status).toBe(404);
  });

  it('restore is refused with 403 when the quota has no room left, and the server stays SOFT_DELETED', async () => {
    const id = await boot('soft-3');
    await softApi('DELETE', `/servers/${id}`, memberToken);
    await settled(id, 'SOFT_DELETED');
    const used = await instancesUsed();
    const quota = await softApi('PUT', `/os-quota-sets/${member.projectId}`, adminToken, { quota_set: { instances: used } });
    expect(quota.status).toBe(200);
    try {
      const refused = await act(id, { restore: null });
      expect(refused.status).toBe(403);
      expect(refused.body.forbidden.message).toMatch(/Quota exceeded/);
      expect((await show(id))?.status).toBe('SOFT_DELETED');
    } finally {
      await softApi('DELETE', `/os-quota-sets/${member.projectId}`, adminToken);
    }
    await act(id, { forceDelete: null });
    await gone(id);
  });

  it('a soft-deleted server is reclaimed once its interval has passed', async () => {
    const id = await boot('soft-4');
    const used = await instancesUsed();
    process.env.RECLAIM_INSTANCE_INTERVAL = '1';
    resetConfig();
    try {
      await softApi('DELETE', `/servers/${id}`, memberToken);
    } finally {
      process.env.RECLAIM_INSTANCE_INTERVAL = '3600';
      resetConfig();
    }
    await settled(id, 'SOFT_DELETED');
    // The cloud's own sweeper reclaims it too; whichever comes first, it is reclaimed once.
    await waitFor(`server ${id} reclaimed`, async () => {
      await sweepOverdueInstances();
      return (await softApi('GET', `/servers/${id}`, adminToken)).status === 404;
    }, 60_000, 1000);
    expect(await instancesUsed()).toBe(used - 1);
  });
});

describe('deleted servers in lists', () => {
  it('changes-since lists a deleted server as DELETED; deleted=true lists only deleted ones, for admins', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const live = await boot('listed-live');
    const id = await boot('listed-deleted');
    await softApi('DELETE', `/servers/${id}`, memberToken);
    await settled(id, 'SOFT_DELETED');
    await act(id, { forceDelete: null });
    await gone(id);

    const plain = (await api('GET', '/compute/v2.1/servers', { token: memberToken })).body.servers.map((s: Server) => s.id);
    expect(plain).toContain(live);
    expect(plain).not.toContain(id);

    const changed = (await api('GET', `/compute/v2.1/servers/detail?changes-since=${since}`, { token: memberToken })).body.servers as Server[];
    expect(changed.find((s) => s.id === id)?.status).toBe('DELETED');
    expect(changed.find((s) => s.id === live)?.status).toBe('ACTIVE');

    const onlyDeleted = (await api('GET', `/compute/v2.1/servers/detail?all_tenants=1&deleted=true&project_id=${member.projectId}`, { token: adminToken })).body.servers as Server[];
    expect(onlyDeleted.map((s) => s.id)).toContain(id);
    expect(onlyDeleted.map((s) => s.id)).not.toContain(live);
    expect(onlyDeleted.every((s) => s.status === 'DELETED')).toBe(true);

    // A member's `deleted` is ignored, as Nova drops filters a non-admin may not use; vm_state=deleted is refused.
    const memberDeleted = (await api('GET', '/compute/v2.1/servers?deleted=true', { token: memberToken })).body.servers.map((s: Server) => s.id);
    expect(memberDeleted).toContain(live);
    expect(memberDeleted).not.toContain(id);
    const refused = await api('GET', '/compute/v2.1/servers?vm_state=deleted', { token: memberToken, headers: { 'OpenStack-API-Version': 'compute 2.83' } });
    expect(refused.status).toBe(403);

    // Usage counts it up to its deletion.
    const usage = (await api('GET', `/compute/v2.1/os-simple-tenant-usage/${member.projectId}?start=${since.replace(/Z$/, '')}`, { token: adminToken })).body.tenant_usage;
    const row = usage.server_usages.find((u: Server) => u.instance_id === id);
    expect(row).toMatchObject({ state: 'terminated', name: 'listed-deleted' });
    expect(Date.parse(`${row.ended_at}Z`)).toBeGreaterThan(Date.parse(`${row.started_at}Z`));
    expect(usage.server_usages.find((u: Server) => u.instance_id === live)).toMatchObject({ state: 'active', ended_at: null });

    await softApi('POST', `/servers/${live}/action`, memberToken, { forceDelete: null });
    await gone(live);
  });
});
