import type { Instance } from '../../shared/domain/instance.js';
import { ACTION_EVENTS, InstanceActionName, TaskState, VmState } from '../../shared/domain/instance-states.js';
import { finishEvent } from '../../shared/store/instance-actions.js';
import { logger } from '../../shared/logger.js';
import { spawnCommandFor } from '../../shared/messages/host-commands.js';
import { sendMessage } from '../../shared/messages/send.js';
import { bindDevicePorts } from '../../shared/network-plan/sync.js';
import { HostCommandSchema } from '../../shared/messages/host.js';
import type { BuildRequestSchema } from '../../shared/messages/scheduler.js';
import { getHost } from '../../shared/store/hosts.js';
import { getInstance, updateInstance } from '../../shared/store/instances.js';
import { claimHost } from './claim.js';
import { storedRequestSpec } from './request-spec.js';
import { noValidHostMessage, selectStoredHosts } from './select-hosts.js';
import type { z } from 'zod';

/** Claims lost to a parallel claim that filled the chosen host before trying the next (Nova: 3). */
export const CLAIM_ATTEMPTS = 3;
/** Claims lost to another member of the instance's server group taking the place its policy allows. */
export const GROUP_CLAIM_ATTEMPTS = 10;

/**
 * Places one instance: filter and weigh the hosts, claim the best, send the spawn to its queue.
 * Safe to run twice for the same message: an instance already placed only gets its spawn
 * command sent again (the agent ignores a spawn for a guest it has).
 */
export async function scheduleInstance(msg: z.infer<typeof BuildRequestSchema>): Promise<void> {
  let instance = await getInstance(msg.instance_id);
  if (!instance) return logger.info('instance is gone, nothing to schedule', { instance_id: msg.instance_id });

  // Races for a host's room count against CLAIM_ATTEMPTS; races with the other members of a
  // server group (all of them picking the same best host at once) against a larger bound.
  let lostRoom = 0;
  let lostToGroup = 0;
  for (let attempt = 1; lostRoom < CLAIM_ATTEMPTS && lostToGroup < GROUP_CLAIM_ATTEMPTS; attempt++) {
    if (instance.task_state === TaskState.SPAWNING && instance.host) return sendSpawn(instance, msg.request_id);
    if (instance.task_state !== TaskState.SCHEDULING && !isUnshelving(instance)) {
      return logger.info('instance is no longer waiting for a host', { instance_id: instance.id, task_state: instance.task_state });
    }
    const spec = await storedRequestSpec(instance);
    // As Nova's unshelve (reset_forced_destinations): a boot's forced host does not bind later moves.
    if (isUnshelving(instance)) spec.forcedHost = null;
    const { selection, best, aggregates } = await selectStoredHosts(spec);
    if (!best) return failNoValidHost(instance, noValidHostMessage(selection), msg.request_id);

    const result = await claimHost(best, instance, spec, aggregates);
    if (result === 'claimed') {
      logger.info('claimed resources on host', { instance_id: instance.id, host: best.host, attempt });
      instance = (await getInstance(instance.id))!;
      return sendSpawn(instance, msg.request_id);
    }
    logger.info('claim lost, trying again', { instance_id: instance.id, host: best.host, reason: result, attempt });
    if (result === 'group-policy') lostToGroup++;
    else lostRoom++;
    const fresh = await getInstance(instance.id);
    if (!fresh) return;
    instance = fresh;
  }
  await failNoValidHost(instance, `No valid host was found. Lost the claim race ${lostRoom + lostToGroup} times.`, msg.request_id);
}

async function sendSpawn(instance: Instance, requestId: string): Promise<void> {
  const host = await getHost(instance.host!);
  if (!host) throw new Error(`host ${instance.host} of instance ${instance.id} is not registered`);
  // Its ports are bound to the host and the host has their network before the guest starts.
  await bindDevicePorts(instance.id, host.host, requestId);
  await sendMessage(host.queue_url, HostCommandSchema, await spawnCommandFor(instance, requestId));
}

/** An offloaded server being unshelved: placed like a boot, spawned from its shelved image. */
const isUnshelving = (i: Instance) => i.task_state === TaskState.UNSHELVING && i.vm_state === VmState.SHELVED_OFFLOADED;

async function failNoValidHost(instance: Instance, message: string, requestId: string): Promise<void> {
  logger.warn('no valid host', { instance_id: instance.id, message });
  if (isUnshelving(instance)) return failUnshelve(instance, message, requestId);
  await updateInstance(instance, {
    vm_state: VmState.ERROR,
    task_state: null,
    task_deadline: null,
    fault: { code: 500, message, created: new Date().toISOString() },
  });
}

/** As Nova's conductor: an unshelve with no host to go to leaves the server SHELVED_OFFLOADED (the task ends, its image stays). */
async function failUnshelve(instance: Instance, message: string, requestId: string): Promise<void> {
  if (!(await updateInstance(instance, { task_state: null, task_deadline: null, requested_host: null }))) return;
  const now = new Date().toISOString();
  const event = ACTION_EVENTS[InstanceActionName.UNSHELVE]!;
  await finishEvent(instance.id, requestId, { event, start_time: now, finish_time: now, result: 'Error', traceback: message });
}
