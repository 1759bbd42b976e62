import type { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { ACTION_EVENTS, InstanceActionName, VmState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { SpawnedReportSchema, SpawnFailedReportSchema } from '../../../shared/messages/conductor.js';
import { deleteShelvedImage } from '../../../shared/storage/shelved-image.js';
import { finishEvent } from '../../../shared/store/instance-actions.js';
import { claimRelease, transact, updateInstance, versionedUpdate } from '../../../shared/store/instances.js';

const UNSHELVE_EVENT = ACTION_EVENTS[InstanceActionName.UNSHELVE]!;

/**
 * An offloaded server runs again on the host the scheduler claimed for it: ACTIVE, no longer
 * shelved, and its shelved image deleted (Nova's _unshelve_instance). The caller checked the
 * instance waits for exactly this host's spawn.
 */
export async function onUnshelveSpawned(report: z.infer<typeof SpawnedReportSchema>, instance: Instance): Promise<void> {
  const updated = await updateInstance(instance, {
    vm_state: VmState.ACTIVE,
    task_state: null,
    task_deadline: null,
    power_state: report.power_state,
    shelved: null,
    requested_host: null,
  });
  if (!updated) return;
  logger.info('instance unshelved', { instance_id: instance.id, host: report.host, image_id: instance.shelved?.image_id });
  if (report.request_id) {
    await finishEvent(instance.id, report.request_id, { event: UNSHELVE_EVENT, start_time: report.started_at ?? report.at, finish_time: report.at, result: 'Success' });
  }
  if (instance.shelved) await deleteShelvedImage(instance.shelved.image_id);
}

/**
 * The host could not spawn the offloaded server: as Nova, it is not rescheduled but stays
 * SHELVED_OFFLOADED (its image kept, to unshelve again) with the host's claim released and the
 * reason as its fault.
 */
export async function onUnshelveSpawnFailed(report: z.infer<typeof SpawnFailedReportSchema>, instance: Instance): Promise<void> {
  const fault = { code: 500, message: `Unshelve of instance ${instance.id} failed on ${report.host}: ${report.reason}`, created: report.at };
  if (!(await returnToOffloaded(instance, { fault }))) return;
  logger.warn('unshelve failed on host', { instance_id: instance.id, host: report.host, reason: report.reason });
  if (report.request_id) {
    await finishEvent(instance.id, report.request_id, {
      event: UNSHELVE_EVENT,
      start_time: report.started_at ?? report.at,
      finish_time: report.at,
      result: 'Error',
      traceback: fault.message,
    });
  }
}

/** Back to SHELVED_OFFLOADED without a host, releasing a claim the unshelve made (once: the update is conditional on the version read). */
export function returnToOffloaded(instance: Instance, extra: Partial<Instance> = {}): Promise<boolean> {
  const changes = { vm_state: VmState.SHELVED_OFFLOADED, task_state: null, task_deadline: null, host: null, claimed_host: null, requested_host: null, ...extra };
  return transact([versionedUpdate(instance, changes), ...claimRelease(instance)]);
}
