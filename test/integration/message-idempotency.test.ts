import '../support/cloud-env.js';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { handler as scheduler } from '../../functions/scheduler/handler.js';
import { queues } from '../../shared/aws.js';
import type { HostInventory } from '../../shared/domain/host.js';
import type { Instance } from '../../shared/domain/instance.js';
import { TaskState, VmState } from '../../shared/domain/instance-states.js';
import type { ConductorMessage } from '../../shared/messages/conductor.js';
import { getHost } from '../../shared/store/hosts.js';
import { createInstances, getInstance, getQuotaUsage, removeInstance, updateInstance } from '../../shared/store/instances.js';
import { hostInventory, hostUsage, newInstance, retireHost, uniqueName } from '../support/fixtures.js';
import { deliver, invoke } from '../support/queue-events.js';

/**
 * SQS delivers at least once and in any order: every report and build request, delivered
 * twice (in one batch, where the copies race, and again later) or out of order, must change
 * the table once. The handlers run in-process against the shared cloud's table, for a host
 * registered only here, in a zone of its own, that no agent serves.
 */
const zone = uniqueName('idem-zone');
const hostName = uniqueName('idem-host');
const projectId = uniqueName('idem-project');
/** Report times relative to the start of the file: the host registers "in the future", so it counts as up throughout. */
const start = Date.now();
const at = (offsetSeconds: number) => new Date(start + offsetSeconds * 1000).toISOString();
const smallInventory = hostInventory(hostName, zone, { vcpus: 4, memory_mb: 8192, disk_gb: 50 });
const largeInventory = hostInventory(hostName, zone, { vcpus: 8, memory_mb: 10240, disk_gb: 100 });

const register = (inventory: HostInventory, when: string): ConductorMessage => ({ type: 'register', host: hostName, at: when, inventory });
const heartbeat = (when: string): ConductorMessage => ({ type: 'heartbeat', host: hostName, at: when, guests: [] });
const spawned = (id: string, host = hostName): ConductorMessage => ({ type: 'spawned', host, at: at(0), instance_id: id, power_state: 1, addresses: {} });
const spawnFailed = (id: string, host = hostName): ConductorMessage => ({ type: 'spawn_failed', host, at: at(0), instance_id: id, reason: 'disk full' });
const destroyed = (id: string): ConductorMessage => ({ type: 'destroyed', host: hostName, at: at(0), instance_id: id });
const build = (id: string) => ({ type: 'build', request_id: `req-${id}`, instance_id: id });

const created: string[] = [];

async function createInZone(fields: Partial<Instance> = {}): Promise<Instance> {
  const instance = newInstance(projectId, { availability_zone: zone, ...fields });
  // Quota is not what this file is about: a high limit lets it create as many instances as it needs.
  await createInstances([instance], { instances: 1000, cores: 1000, ram: 1_000_000 });
  created.push(instance.id);
  return instance;
}

async function current(id: string): Promise<Instance> {
  const instance = await getInstance(id);
  if (!instance) throw new Error(`instance ${id} is gone`);
  return instance;
}

/** An instance placed on the test host by the real scheduler handler: spawning, with a claim. */
async function placedInstance(fields: Partial<Instance> = {}): Promise<Instance> {
  const instance = await createInZone(fields);
  await deliver(scheduler, build(instance.id));
  const placed = await current(instance.id);
  expect(placed).toMatchObject({ task_state: TaskState.SPAWNING, host: hostName, claimed_host: hostName });
  return placed;
}

async function activeInstance(): Promise<Instance> {
  const instance = await placedInstance();
  await deliver(conductor, spawned(instance.id));
  return current(instance.id);
}

const tiny = (n: number) => ({ used_vcpus: n, used_memory_mb: 512 * n, used_disk_gb: n, running_vms: n });
const quotaOf = (n: number) => ({ instances: n, cores: n, ram: 512 * n });
const plus = (a: ReturnType<typeof tiny>, b: ReturnType<typeof tiny>) => ({
  used_vcpus: a.used_vcpus + b.used_vcpus,
  used_memory_mb: a.used_memory_mb + b.used_memory_mb,
  used_disk_gb: a.used_disk_gb + b.used_disk_gb,
  running_vms: a.running_vms + b.running_vms,
});

/** Commands waiting on the test host's own queue (nobody consumes it). */
async function hostCommands(): Promise<{ type: string; instance_id?: string; guest?: { instance_id: string } }[]> {
  const host = await getHost(hostName);
  const out = await queues().send(new ReceiveMessageCommand({ QueueUrl: host!.queue_url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 1 }));
  return (out.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

describe('every message handler is idempotent and ignores stale messages', () => {
  beforeAll(async () => {
    await deliver(conductor, register(smallInventory, at(3600)));
  });

  afterAll(async () => {
    await retireHost(hostName);
  });

  it('register: repeated and reordered registrations keep one record, its usage, the newest inventory and heartbeat', async () => {
    const first = (await getHost(hostName))!;
    expect(first).toMatchObject({ vcpus: 4, vcpus_limit: 16, memory_mb: 8192, availability_zone: zone, ...tiny(0) });
    const instance = await placedInstance();
    expect(await hostUsage(hostName)).toEqual(tiny(1));

    // The same registration again, twice in one batch and once more: nothing changes, the claim stays.
    await deliver(conductor, register(smallInventory, at(3600)), register(smallInventory, at(3600)));
    await deliver(conductor, register(smallInventory, at(3600)));
    const again = (await getHost(hostName))!;
    expect(again).toMatchObject({ id: first.id, service_id: first.service_id, vcpus: 4, last_heartbeat: first.last_heartbeat, ...tiny(1) });

    // A newer registration with a bigger inventory (the operator resized the host) applies...
    await deliver(conductor, register(largeInventory, at(7200)));
    const newer = (await getHost(hostName))!;
    expect(newer).toMatchObject({ vcpus: 8, vcpus_limit: 32, memory_mb: 10240, disk_gb: 100, ...tiny(1) });
    // ...and the older one, redelivered after it, neither rolls the inventory nor the heartbeat back.
    await deliver(conductor, register(smallInventory, at(3600)));
    const afterStale = (await getHost(hostName))!;
    expect(afterStale).toMatchObject({ vcpus: 8, vcpus_limit: 32, memory_mb: 10240, disk_gb: 100, last_heartbeat: newer.last_heartbeat, ...tiny(1) });
    expect(await current(instance.id)).toMatchObject({ version: 2, task_state: TaskState.SPAWNING });
  });

  it('heartbeat: a repeated or older heartbeat never moves last_heartbeat back nor touches usage', async () => {
    const usage = await hostUsage(hostName);
    const newest = at(9000);
    await deliver(conductor, heartbeat(newest), heartbeat(newest));
    expect((await getHost(hostName))!.last_heartbeat).toBe(newest);
    await deliver(conductor, heartbeat(at(8000)), heartbeat(newest));
    await deliver(conductor, heartbeat(at(100)));
    const host = (await getHost(hostName))!;
    expect(host.last_heartbeat).toBe(newest);
    expect(await hostUsage(hostName)).toEqual(usage);
  });

  it('build: delivered twice in one batch and again later, claims the host and counts once', async () => {
    const usage = await hostUsage(hostName);
    const quota = await getQuotaUsage(projectId);
    const instance = await createInZone();
    expect(await getQuotaUsage(projectId)).toEqual({ instances: quota.instances + 1, cores: quota.cores + 1, ram: quota.ram + 512 });

    await deliver(scheduler, build(instance.id), build(instance.id));
    await deliver(scheduler, build(instance.id));
    expect(await current(instance.id)).toMatchObject({ version: 2, task_state: TaskState.SPAWNING, host: hostName, claimed_host: hostName, availability_zone: zone });
    expect(await hostUsage(hostName)).toEqual(plus(usage, tiny(1)));
    expect(await getQuotaUsage(projectId)).toEqual({ instances: quota.instances + 1, cores: quota.cores + 1, ram: quota.ram + 512 });
    // Every copy (re)sends the spawn; the agent ignores a spawn for a guest it has.
    const spawns = (await hostCommands()).filter((c) => c.type === 'spawn' && c.guest?.instance_id === instance.id);
    expect(spawns.length).toBeGreaterThanOrEqual(1);
  });

  it('spawned: twice makes the instance ACTIVE once; from another host or before placement it changes nothing', async () => {
    const notPlaced = await createInZone();
    await deliver(conductor, spawned(notPlaced.id));
    expect(await current(notPlaced.id)).toMatchObject({ version: 1, vm_state: VmState.BUILDING, task_state: TaskState.SCHEDULING });

    const instance = await placedInstance();
    const usage = await hostUsage(hostName);
    await deliver(conductor, spawned(instance.id, uniqueName('some-other-host')));
    expect(await current(instance.id)).toMatchObject({ version: 2, task_state: TaskState.SPAWNING });

    await deliver(conductor, spawned(instance.id), spawned(instance.id));
    await deliver(conductor, spawned(instance.id));
    const active = await current(instance.id);
    expect(active).toMatchObject({ version: 3, vm_state: VmState.ACTIVE, task_state: null, task_deadline: null, power_state: 1 });
    expect(active.launched_at).not.toBeNull();
    expect(await hostUsage(hostName)).toEqual(usage);
  });

  it('build after the instance is ACTIVE changes nothing', async () => {
    const instance = await activeInstance();
    const usage = await hostUsage(hostName);
    await deliver(scheduler, build(instance.id), build(instance.id));
    expect(await current(instance.id)).toEqual(instance);
    expect(await hostUsage(hostName)).toEqual(usage);
  });

  it('destroyed: before spawned it changes nothing; twice after a delete it releases claim and quota once', async () => {
    const instance = await placedInstance();
    await deliver(conductor, destroyed(instance.id));
    expect(await current(instance.id)).toMatchObject({ version: 2, task_state: TaskState.SPAWNING });
    await deliver(conductor, spawned(instance.id));
    const active = await current(instance.id);
    expect(active).toMatchObject({ version: 3, vm_state: VmState.ACTIVE });

    const usage = await hostUsage(hostName);
    const quota = await getQuotaUsage(projectId);
    // What DELETE /servers/{id} does for an instance with a claim: task_state deleting, then the host destroys.
    expect(await updateInstance(active, { task_state: TaskState.DELETING })).toBeDefined();
    await deliver(conductor, destroyed(instance.id), destroyed(instance.id));
    await deliver(conductor, destroyed(instance.id));
    expect(await getInstance(instance.id)).toBeUndefined();
    expect(await hostUsage(hostName)).toEqual(plus(usage, tiny(-1)));
    expect(await getQuotaUsage(projectId)).toEqual({ instances: quota.instances - 1, cores: quota.cores - 1, ram: quota.ram - 512 });

    // Late reports about the deleted instance change nothing; a late `spawned` gets the orphan destroyed.
    await hostCommands(); // drain what is visible, so the destroy below is found among few messages
    await deliver(conductor, spawned(instance.id), spawnFailed(instance.id), destroyed(instance.id));
    await deliver(scheduler, build(instance.id));
    expect(await getInstance(instance.id)).toBeUndefined();
    expect(await hostUsage(hostName)).toEqual(plus(usage, tiny(-1)));
    expect(await getQuotaUsage(projectId)).toEqual({ instances: quota.instances - 1, cores: quota.cores - 1, ram: quota.ram - 512 });
    const commands = [...(await hostCommands()), ...(await hostCommands())];
    expect(commands).toContainEqual(expect.objectContaining({ type: 'destroy', instance_id: instance.id }));
  });

  it('spawn_failed: twice releases the claim once and reschedules once; a late copy from the old host changes nothing', async () => {
    const instance = await placedInstance();
    const usage = await hostUsage(hostName);
    const quota = await getQuotaUsage(projectId);
    await deliver(conductor, spawnFailed(instance.id), spawnFailed(instance.id));
    await deliver(conductor, spawnFailed(instance.id));
    expect(await hostUsage(hostName)).toEqual(plus(usage, tiny(-1)));
    expect(await getQuotaUsage(projectId)).toEqual(quota);

    // The reschedule went to the shared cloud's scheduler queue: its only host in this zone failed already.
    const failed = await waitForState(instance.id, (i) => i.vm_state === VmState.ERROR);
    expect(failed).toMatchObject({ task_state: null, claimed_host: null, attempted_hosts: [hostName] });
    expect(failed.fault?.message).toContain('No valid host');
    expect(failed.fault?.message).toContain('IgnoreAttemptedHostsFilter rejected 1');
    await deliver(conductor, spawnFailed(instance.id), spawned(instance.id));
    expect(await current(instance.id)).toEqual(failed);
    expect(await hostUsage(hostName)).toEqual(plus(usage, tiny(-1)));
  });

  it('spawn_failed on the last attempt puts the instance in ERROR and releases once', async () => {
    const instance = await placedInstance({ attempted_hosts: [uniqueName('gone-1'), uniqueName('gone-2')] });
    const usage = await hostUsage(hostName);
    await deliver(conductor, spawnFailed(instance.id), spawnFailed(instance.id));
    await deliver(conductor, spawnFailed(instance.id));
    const failed = await current(instance.id);
    expect(failed).toMatchObject({ version: 3, vm_state: VmState.ERROR, task_state: null, claimed_host: null });
    expect(failed.attempted_hosts).toHaveLength(3);
    expect(failed.fault?.message).toContain('failed on 3 hosts: disk full');
    expect(await hostUsage(hostName)).toEqual(plus(usage, tiny(-1)));
  });

  it('concurrent invocations in one process (the local runtime runs two per queue) each report only their own failures', async () => {
    for (let trial = 0; trial < 3; trial++) {
      // A build whose instance sits on a host that does not exist fails (and would be retried)...
      const broken = await createInZone({ task_state: TaskState.SPAWNING, host: uniqueName('unregistered'), version: 2 });
      // ...while builds in another invocation at the same moment succeed.
      const fine = await Promise.all([createInZone(), createInZone(), createInZone()]);
      const [failing, succeeding] = await Promise.all([
        invoke(scheduler, [build(broken.id)]),
        invoke(scheduler, fine.map((i) => build(i.id))),
      ]);
      expect(failing.failed).toEqual(failing.ids);
      expect(succeeding.failed).toEqual([]);
      for (const i of [broken, ...fine]) expect(await removeInstance(await current(i.id))).toBe(true);
    }
  });

  it('after every instance is removed, host usage and quota usage are exactly zero', async () => {
    for (const id of created) {
      const instance = await getInstance(id);
      if (instance) expect(await removeInstance(instance)).toBe(true);
    }
    expect(await hostUsage(hostName)).toEqual(tiny(0));
    expect(await getQuotaUsage(projectId)).toEqual(quotaOf(0));
  });
});

async function waitForState(id: string, done: (i: Instance) => boolean, timeoutMs = 20_000): Promise<Instance> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const instance = await current(id);
    if (done(instance)) return instance;
    if (Date.now() > deadline) throw new Error(`instance ${id} stayed ${instance.vm_state}/${instance.task_state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
