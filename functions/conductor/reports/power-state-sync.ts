import type { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { PowerState, VmState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { HeartbeatReportSchema } from '../../../shared/messages/conductor.js';
import { getInstance, updateInstance, type InstanceChanges } from '../../../shared/store/instances.js';

type Heartbeat = z.infer<typeof HeartbeatReportSchema>;

/** vm_states whose guest should run: a guest found shut down or crashed means the instance stopped. */
const EXPECTS_A_GUEST: readonly VmState[] = [VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED];

/**
 * Nova's _sync_instance_power_state, for one guest: the power state the host sees wins, and an
 * instance whose guest shut down or crashed on its own becomes stopped (SHUTOFF). Undefined
 * when nothing changes.
 */
export function powerSyncChanges(i: Pick<Instance, 'vm_state' | 'power_state'>, powerState: number): InstanceChanges | undefined {
  const changes: InstanceChanges = {};
  if (powerState !== i.power_state) changes.power_state = powerState;
  if ((powerState === PowerState.SHUTDOWN || powerState === PowerState.CRASHED) && EXPECTS_A_GUEST.includes(i.vm_state)) {
    changes.vm_state = VmState.STOPPED;
  }
  return Object.keys(changes).length ? changes : undefined;
}

/**
 * Applies a heartbeat's power states to the instances of that host that run no task (a task's
 * own report settles the state). A heartbeat made before the instance last changed is older
 * news than the record: it changes nothing. Each write is conditional on the version read.
 */
export async function syncPowerStates(report: Heartbeat): Promise<void> {
  await Promise.all(report.guests.map((guest) => syncGuest(report, guest.instance_id, guest.power_state)));
}

async function syncGuest(report: Heartbeat, instanceId: string, powerState: number): Promise<void> {
  const instance = await getInstance(instanceId, false);
  if (!instance || instance.host !== report.host || instance.task_state !== null || report.at <= instance.updated_at) return;
  const changes = powerSyncChanges(instance, powerState);
  if (!changes) return;
  if (await updateInstance(instance, changes)) {
    logger.info('power state synchronised from the host', { instance_id: instance.id, host: report.host, ...changes });
  }
}
