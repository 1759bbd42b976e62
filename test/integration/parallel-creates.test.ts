import '../support/cloud-env.js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { handler as scheduler } from '../../functions/scheduler/handler.js';
import { stopAgent } from '../../infra/local/agents.js';
import { TaskState, VmState } from '../../shared/domain/instance-states.js';
import { getHost } from '../../shared/store/hosts.js';
import { createInstances, getInstance, getQuotaUsage, listProjectInstances, removeInstance } from '../../shared/store/instances.js';
import { api, issueToken, waitFor } from '../support/cloud.js';
import { hostInventory, hostUsage, newInstance, retireHost, TWENTY_TINY, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';
import { deliver, invoke } from '../support/queue-events.js';
import { startTestAgent } from '../support/test-agents.js';

const zone = uniqueName('race');
const hostNames = [uniqueName('race-a'), uniqueName('race-b')];
const stateDir = mkdtempSync(join(tmpdir(), 'novaless-race-'));
const zeroUsage = { used_vcpus: 0, used_memory_mb: 0, used_disk_gb: 0, running_vms: 0 };

interface ServerDetail {
  id: string;
  status: string;
  tenant_id: string;
  fault?: { message: string };
  'OS-EXT-SRV-ATTR:host': string | null;
}

describe('parallel creates never over-claim a host', () => {
  const agents: ChildProcess[] = [];
  let adminToken: string;
  let projects: ProjectMember[];
  let imageId: string;

  beforeAll(async () => {
    adminToken = await issueToken();
    for (const host of hostNames) {
      agents.push(startTestAgent({ host, zone, vcpus: TWENTY_TINY.vcpus, memoryMb: TWENTY_TINY.memory_mb, diskGb: TWENTY_TINY.disk_gb, stateDir }));
    }
    [projects, imageId] = await Promise.all([
      Promise.all(Array.from({ length: 5 }, (_, n) => createProjectMember(uniqueName(`race-p${n}`), adminToken))),
      uploadTestImage(uniqueName('race-image'), adminToken),
    ]);
    await waitFor('both race hosts registered and up', async () => {
      const res = await api('GET', '/compute/v2.1/os-hypervisors/detail', { token: adminToken });
      const mine = (res.body.hypervisors as { hypervisor_hostname: string; state: string }[]).filter((h) => hostNames.includes(h.hypervisor_hostname));
      return mine.length === 2 && mine.every((h) => h.state === 'up');
    }, 60_000);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => stopAgent(a, 3_000)));
    for (const host of hostNames) if (await getHost(host)) await retireHost(host);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('50 parallel creates into hosts with room for 40 leave exactly 40 ACTIVE and 10 ERROR with NoValidHost and no host over-claimed', async () => {
    const requests = projects.flatMap((p) =>
      Array.from({ length: 10 }, (_, n) =>
        api('POST', '/compute/v2.1/servers', {
          token: p.token,
          body: { server: { name: `race-${n}`, imageRef: imageId, flavorRef: '1', availability_zone: zone } },
        }),
      ),
    );
    const responses = await Promise.all(requests);
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(202));
    const ids = new Set(responses.map((r) => r.body.server.id as string));
    expect(ids.size).toBe(50);

    const servers = await waitFor('every server ACTIVE or ERROR', async () => {
      const res = await api('GET', '/compute/v2.1/servers/detail?all_tenants=1', { token: adminToken });
      const mine = (res.body.servers as ServerDetail[]).filter((s) => ids.has(s.id));
      return mine.length === 50 && mine.every((s) => s.status === 'ACTIVE' || s.status === 'ERROR') && mine;
    }, 60_000, 500);

    const active = servers.filter((s) => s.status === 'ACTIVE');
    const errored = servers.filter((s) => s.status === 'ERROR');
    expect(active).toHaveLength(40);
    expect(errored).toHaveLength(10);
    for (const s of errored) expect(s.fault?.message).toContain('No valid host');

    for (const name of hostNames) {
      const host = (await getHost(name))!;
      const onHost = active.filter((s) => s['OS-EXT-SRV-ATTR:host'] === name).length;
      expect(onHost).toBe(20);
      expect(host.used_vcpus).toBeLessThanOrEqual(host.vcpus_limit);
      expect(host.used_memory_mb).toBeLessThanOrEqual(host.memory_mb_limit);
      expect(host.used_disk_gb).toBeLessThanOrEqual(host.disk_gb_limit);
      expect(await hostUsage(name)).toEqual({ used_vcpus: onHost, used_memory_mb: 512 * onHost, used_disk_gb: onHost, running_vms: onHost });
    }
    // The instance records agree: each ACTIVE holds exactly one claim, no ERROR holds any.
    const records = (await Promise.all(projects.map((p) => listProjectInstances(p.projectId)))).flat();
    expect(records).toHaveLength(50);
    for (const name of hostNames) expect(records.filter((i) => i.claimed_host === name)).toHaveLength(20);
    expect(records.filter((i) => i.vm_state === VmState.ERROR && i.claimed_host !== null)).toEqual([]);
    for (const p of projects) expect(await getQuotaUsage(p.projectId)).toEqual({ instances: 10, cores: 10, ram: 5120 });

    // Delete all 50 (each as its owner): the hosts confirm, the conductor releases each claim once.
    const deletes = await Promise.all(
      servers.map((s) => api('DELETE', `/compute/v2.1/servers/${s.id}`, { token: projects.find((p) => p.projectId === s.tenant_id)!.token })),
    );
    expect(deletes.map((d) => d.status)).toEqual(Array(50).fill(204));
    await waitFor('every server gone', async () => {
      const left = await Promise.all(projects.map((p) => listProjectInstances(p.projectId)));
      return left.every((l) => l.length === 0);
    }, 60_000, 500);
    for (const name of hostNames) expect(await hostUsage(name)).toEqual(zeroUsage);
    for (const p of projects) expect(await getQuotaUsage(p.projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it('30 parallel scheduler invocations for a host with room for 20 claim exactly 20', async () => {
    // A host of its own, in a zone of its own, registered through the conductor; no agent serves it.
    const claimZone = uniqueName('claim');
    const hostName = uniqueName('claim-host');
    const projectId = uniqueName('claim-project');
    await deliver(conductor, { type: 'register', host: hostName, at: new Date(Date.now() + 3_600_000).toISOString(), inventory: hostInventory(hostName, claimZone) });
    try {
      const instances = Array.from({ length: 30 }, () => newInstance(projectId, { availability_zone: claimZone }));
      await createInstances(instances, { instances: 30, cores: 30, ram: 30 * 512 });

      const outcomes = await Promise.all(instances.map((i) => invoke(scheduler, [{ type: 'build', request_id: `req-${i.id}`, instance_id: i.id }])));
      expect(outcomes.flatMap((o) => o.failed)).toEqual([]);

      const placed = await Promise.all(instances.map(async (i) => (await getInstance(i.id))!));
      const claimed = placed.filter((i) => i.task_state === TaskState.SPAWNING && i.claimed_host === hostName);
      const refused = placed.filter((i) => i.vm_state === VmState.ERROR);
      expect(claimed).toHaveLength(20);
      expect(refused).toHaveLength(10);
      for (const i of refused) {
        expect(i.claimed_host).toBeNull();
        expect(i.fault?.message).toContain('No valid host');
      }
      const host = (await getHost(hostName))!;
      expect(await hostUsage(hostName)).toEqual({ used_vcpus: 20, used_memory_mb: 10240, used_disk_gb: 20, running_vms: 20 });
      expect(host.used_memory_mb).toBe(host.memory_mb_limit);

      for (const i of placed) expect(await removeInstance(i)).toBe(true);
      expect(await hostUsage(hostName)).toEqual(zeroUsage);
      expect(await getQuotaUsage(projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
    } finally {
      await retireHost(hostName);
    }
  });
});
