import '../support/cloud-env.js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAgent } from '../../infra/local/agents.js';
import { getHost } from '../../shared/store/hosts.js';
import { api, issueToken, waitFor } from '../support/cloud.js';
import { retireHost, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';
import { startTestAgent } from '../support/test-agents.js';

/**
 * Aggregate metadata `cpu_allocation_ratio` / `ram_allocation_ratio` / `disk_allocation_ratio`
 * override the ratios of the hosts in the aggregate (Nova's old Aggregate{Core,Ram,Disk}Filter),
 * the smallest winning when a host is in several. One real (fake-driver) agent with 2 vCPUs and
 * 2048 MB, alone in a zone of its own; a flavor of 4 vCPUs fits it only under the default cpu
 * ratio (4.0), a flavor of 3072 MB only under a ram ratio above 1.5.
 */
const zone = uniqueName('ratio-zone');
const host = uniqueName('ratio-host');
const stateDir = mkdtempSync(join(tmpdir(), 'novaless-ratio-'));
const AGG = '/compute/v2.1/os-aggregates';
type Body = Record<string, any>;

let adminToken: string;
let member: ProjectMember;
let imageId: string;
let agent: ChildProcess;
const aggregates: number[] = [];
const flavors: string[] = [];
let fourCpus: string;
let bigRam: string;

const admin = (method: string, path: string, body?: unknown) => api(method, path, { token: adminToken, body });
const act = (id: number, body: unknown) => admin('POST', `${AGG}/${id}/action`, body);

async function aggregateWith(metadata: Record<string, string | null>): Promise<number> {
  const res = await admin('POST', AGG, { aggregate: { name: uniqueName('ratio-agg') } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const id = res.body.aggregate.id as number;
  aggregates.push(id);
  expect((await act(id, { add_host: { host } })).status).toBe(200);
  expect((await act(id, { set_metadata: { metadata } })).status).toBe(200);
  return id;
}

async function flavor(vcpus: number, ram: number): Promise<string> {
  const id = uniqueName('ratio-flavor');
  expect((await admin('POST', '/compute/v2.1/flavors', { flavor: { name: id, id, ram, vcpus, disk: 1 } })).status).toBe(200);
  flavors.push(id);
  return id;
}

/** Boots a server of the flavor into the host's zone; its host once ACTIVE, or its fault. Deleted after. */
async function boot(flavorRef: string): Promise<{ host?: string; fault?: string }> {
  const res = await api('POST', '/compute/v2.1/servers', {
    token: member.token,
    headers: { 'OpenStack-API-Version': 'compute 2.37' },
    body: { server: { name: uniqueName('ratio-vm'), imageRef: imageId, flavorRef, networks: 'none', availability_zone: zone } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const server = await waitFor('the server settled', async () => {
    const s = (await api('GET', `/compute/v2.1/servers/${res.body.server.id}`, { token: adminToken })).body.server as Body;
    return s.status === 'ACTIVE' || s.status === 'ERROR' ? s : undefined;
  });
  await api('DELETE', `/compute/v2.1/servers/${server.id}`, { token: adminToken });
  await waitFor('the server gone and its claim released', async () => {
    const gone = (await api('GET', `/compute/v2.1/servers/${server.id}`, { token: adminToken })).status === 404;
    return gone && (await getHost(host))!.used_vcpus === 0;
  });
  return server.status === 'ACTIVE' ? { host: server['OS-EXT-SRV-ATTR:host'] } : { fault: server.fault?.message };
}

beforeAll(async () => {
  adminToken = await issueToken();
  agent = startTestAgent({ host, zone, vcpus: 2, memoryMb: 2048, diskGb: 20, stateDir });
  [member, imageId, fourCpus, bigRam] = await Promise.all([
    createProjectMember(uniqueName('ratio-p'), adminToken),
    uploadTestImage(uniqueName('ratio-image'), adminToken),
    flavor(4, 256),
    flavor(1, 3072),
  ]);
  await waitFor('the host registered', async () => !!(await getHost(host)), 60_000);
});

afterAll(async () => {
  for (const id of aggregates) {
    await act(id, { remove_host: { host } });
    await admin('DELETE', `${AGG}/${id}`);
  }
  for (const id of flavors) await admin('DELETE', `/compute/v2.1/flavors/${id}`);
  await stopAgent(agent, 3_000);
  if (await getHost(host)) await retireHost(host);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('per-aggregate allocation ratios', () => {
  it('a host takes 4 vCPUs on 2 under the default cpu ratio, and refuses them in an aggregate with cpu_allocation_ratio 1.0', async () => {
    expect(await boot(fourCpus)).toEqual({ host });

    const strict = await aggregateWith({ cpu_allocation_ratio: '1.0' });
    const refused = await boot(fourCpus);
    expect(refused.host).toBeUndefined();
    expect(refused.fault).toMatch(/No valid host was found.*VcpuFilter rejected 1/);

    // In several aggregates, the smallest ratio holds.
    const loose = await aggregateWith({ cpu_allocation_ratio: '3.0' });
    expect((await boot(fourCpus)).fault).toMatch(/VcpuFilter rejected 1/);

    // Without the strict one, 3.0 gives 6 vCPUs: it fits again.
    await act(strict, { remove_host: { host } });
    expect(await boot(fourCpus)).toEqual({ host });
    await act(loose, { set_metadata: { metadata: { cpu_allocation_ratio: null } } });
  });

  it('ram_allocation_ratio in an aggregate lets a host take more memory than it has, and an unreadable value leaves its own ratio', async () => {
    expect((await boot(bigRam)).fault).toMatch(/RamFilter rejected 1/);
    const generous = await aggregateWith({ ram_allocation_ratio: '1.5' });
    expect(await boot(bigRam)).toEqual({ host });

    await act(generous, { set_metadata: { metadata: { ram_allocation_ratio: 'lots' } } });
    expect((await boot(bigRam)).fault).toMatch(/RamFilter rejected 1/);
  });

  it('changes nothing the host record stores: its own ratios and limits stay', async () => {
    const record = (await getHost(host))!;
    expect(record).toMatchObject({ cpu_allocation_ratio: 4, vcpus_limit: 8, ram_allocation_ratio: 1, memory_mb_limit: 2048 });
  });
});
