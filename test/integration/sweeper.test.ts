import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { handler as scheduler } from '../../functions/scheduler/handler.js';
import { handler as sweeper } from '../../functions/sweeper/handler.js';
import type { Instance } from '../../shared/domain/instance.js';
import { InstanceActionName, TaskState, VmState } from '../../shared/domain/instance-states.js';
import { listDeletedInstances, softDelete } from '../../shared/store/deleted-instances.js';
import { newAction } from '../../shared/store/instance-actions.js';
import { createInstances, getInstance, getQuotaUsage, removeInstance, updateInstance } from '../../shared/store/instances.js';
import { backdateHeartbeat, hostInventory, hostUsage, newInstance, retireHost, uniqueName } from '../support/fixtures.js';
import { deliver } from '../support/queue-events.js';

/**
 * Every task state has a deadline; past it the sweeper puts the instance in ERROR with a fault
 * naming the task, or finishes a delete whose host is down, releasing quota and claim once.
 * The sweeper handler runs in-process (the shared cloud's own timer may run it too: the outcome
 * must be the same whoever gets there first, and the same after any number of runs).
 */
const projectId = uniqueName('sweep-project');
const past = () => new Date(Date.now() - 60_000).toISOString();
const zeroUsage = { used_vcpus: 0, used_memory_mb: 0, used_disk_gb: 0, running_vms: 0 };
const oneTiny = { used_vcpus: 1, used_memory_mb: 512, used_disk_gb: 1, running_vms: 1 };
const limits = { instances: 100, cores: 100, ram: 100_000 };

async function current(id: string): Promise<Instance> {
  const instance = await getInstance(id);
  if (!instance) throw new Error(`instance ${id} is gone`);
  return instance;
}

/** A host of its own, registered through the conductor in a zone of its own; no agent serves it. */
async function registerHost(): Promise<{ host: string; zone: string }> {
  const host = uniqueName('sweep-host');
  const zone = uniqueName('sweep-zone');
  await deliver(conductor, { type: 'register', host, at: new Date().toISOString(), inventory: hostInventory(host, zone) });
  return { host, zone };
}

/** An instance placed on the host by the real scheduler: spawning, holding a claim. */
async function placedOn(zone: string): Promise<Instance> {
  const instance = newInstance(projectId, { availability_zone: zone });
  await createInstances([instance], limits);
  await deliver(scheduler, { type: 'build', request_id: 'req-sweep', instance_id: instance.id });
  return current(instance.id);
}

describe('the sweeper finishes what a lost message left behind', () => {
  const hosts: string[] = [];

  beforeAll(async () => {
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  afterAll(async () => {
    for (const host of hosts) await retireHost(host);
  });

  it('an instance stuck in scheduling past its deadline goes to ERROR with a fault naming the task, once', async () => {
    const instance = newInstance(projectId, { availability_zone: uniqueName('nowhere'), task_deadline: past() });
    await createInstances([instance], limits);

    await sweeper();
    const swept = await current(instance.id);
    expect(swept).toMatchObject({ vm_state: VmState.ERROR, task_state: null, task_deadline: null, claimed_host: null, version: 2 });
    expect(swept.fault?.message).toContain(`Task scheduling of instance ${instance.id} did not finish before its deadline`);
    await sweeper();
    expect(await current(instance.id)).toEqual(swept);
    // The instance still exists (in ERROR, as in Nova): it still counts against the quota until deleted.
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 1, cores: 1, ram: 512 });
    expect(await removeInstance(swept)).toBe(true);
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it('an instance stuck in spawning past its deadline goes to ERROR and its host claim is released once', async () => {
    const { host, zone } = await registerHost();
    hosts.push(host);
    const placed = await placedOn(zone);
    expect(placed).toMatchObject({ task_state: TaskState.SPAWNING, claimed_host: host });
    expect(await hostUsage(host)).toEqual(oneTiny);
    // The spawned report never came: the deadline passes.
    expect(await updateInstance(placed, { task_deadline: past() })).toBeDefined();

    await sweeper();
    await sweeper();
    const swept = await current(placed.id);
    expect(swept).toMatchObject({ vm_state: VmState.ERROR, task_state: null, claimed_host: null, version: 4 });
    expect(swept.fault?.message).toContain('Task spawning');
    expect(swept.fault?.details).toContain('claim was released');
    expect(await hostUsage(host)).toEqual(zeroUsage);

    // A late `spawned` from the host changes nothing now.
    await deliver(conductor, { type: 'spawned', host, at: new Date().toISOString(), instance_id: placed.id, power_state: 1, addresses: {} });
    expect(await current(placed.id)).toEqual(swept);
    expect(await removeInstance(swept)).toBe(true);
    expect(await hostUsage(host)).toEqual(zeroUsage);
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it('a delete whose host is down is finished by the sweeper: quota and claim released exactly once', async () => {
    const { host, zone } = await registerHost();
    hosts.push(host);
    const placed = await placedOn(zone);
    await deliver(conductor, { type: 'spawned', host, at: new Date().toISOString(), instance_id: placed.id, power_state: 1, addresses: {} });
    const active = await current(placed.id);
    expect(active).toMatchObject({ vm_state: VmState.ACTIVE });
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 1, cores: 1, ram: 512 });
    expect(await hostUsage(host)).toEqual(oneTiny);

    // DELETE /servers/{id} set it deleting; the host died before it confirmed, and the deadline passed.
    expect(await updateInstance(active, { task_state: TaskState.DELETING, task_deadline: past() })).toBeDefined();
    await backdateHeartbeat(host, new Date(Date.now() - 3_600_000).toISOString());

    await Promise.all([sweeper(), sweeper()]);
    await sweeper();
    expect(await getInstance(placed.id)).toBeUndefined();
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
    expect(await hostUsage(host)).toEqual(zeroUsage);

    // The host's `destroyed` report, arriving late, changes nothing either.
    await deliver(conductor, { type: 'destroyed', host, at: new Date().toISOString(), instance_id: placed.id });
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
    expect(await hostUsage(host)).toEqual(zeroUsage);
  });

  it('a delete overdue on a host that is still up goes to ERROR and keeps its claim (the guest may still run)', async () => {
    const { host, zone } = await registerHost();
    hosts.push(host);
    const placed = await placedOn(zone);
    await deliver(conductor, { type: 'spawned', host, at: new Date().toISOString(), instance_id: placed.id, power_state: 1, addresses: {} });
    const active = await current(placed.id);
    expect(await updateInstance(active, { task_state: TaskState.DELETING, task_deadline: past() })).toBeDefined();

    await sweeper();
    await sweeper();
    const swept = await current(placed.id);
    expect(swept).toMatchObject({ vm_state: VmState.ERROR, task_state: null, claimed_host: host });
    expect(swept.fault?.message).toContain('Task deleting');
    expect(await hostUsage(host)).toEqual(oneTiny);

    // Deleting it again (the host confirms this time) releases everything once.
    const deleting = await updateInstance(swept, { task_state: TaskState.DELETING });
    expect(deleting).toBeDefined();
    await deliver(conductor, { type: 'destroyed', host, at: new Date().toISOString(), instance_id: placed.id });
    expect(await getInstance(placed.id)).toBeUndefined();
    expect(await hostUsage(host)).toEqual(zeroUsage);
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
  });

  it('a soft delete whose host never answers is ended, then reclaimed once its host is down: quota released once, claim once', async () => {
    const { host, zone } = await registerHost();
    hosts.push(host);
    const placed = await placedOn(zone);
    const active = await updateInstance(placed, { vm_state: VmState.ACTIVE, task_state: null, task_deadline: null, launched_at: new Date().toISOString() });
    const action = newAction({ instanceId: placed.id, action: InstanceActionName.SOFT_DELETE, requestId: 'req-soft-delete', userId: placed.user_id, projectId });
    // Reclaimed at once (interval 0 here); the power-off task is overdue at once too: no agent serves this host.
    const soft = await softDelete(active!, action, 0, past());
    expect(soft).toMatchObject({ vm_state: VmState.SOFT_DELETED, task_state: TaskState.SOFT_DELETING });
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
    expect(await hostUsage(host)).toEqual(oneTiny); // a soft-deleted guest keeps its host

    await sweeper();
    expect(await current(placed.id)).toMatchObject({ vm_state: VmState.SOFT_DELETED, task_state: null, task_deadline: soft!.reclaim_at });

    await backdateHeartbeat(host, new Date(Date.now() - 3_600_000).toISOString());
    await sweeper();
    await sweeper();
    expect(await getInstance(placed.id)).toBeUndefined();
    expect(await hostUsage(host)).toEqual(zeroUsage);
    expect(await getQuotaUsage(projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
    expect((await listDeletedInstances(projectId)).find((i) => i.id === placed.id)).toMatchObject({ vm_state: VmState.DELETED });
  });
});
