import type { z } from 'zod';
import { ACTION_EVENTS, TaskState, VmState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { SpawnedReportSchema } from '../../../shared/messages/conductor.js';
import { getInstance, updateInstance } from '../../../shared/store/instances.js';
import { finishEvent } from '../../../shared/store/instance-actions.js';
import { sendDestroy } from '../../../shared/messages/host-commands.js';
import { onUnshelveSpawned } from './unshelve-spawned.js';

/**
 * A guest is running. Applied only while the instance waits for exactly this host to spawn it;
 * a repeated or late report changes nothing. A guest whose instance was deleted meanwhile is
 * destroyed, so no orphan keeps running.
 */
export async function onSpawned(report: z.infer<typeof SpawnedReportSchema>): Promise<void> {
  const instance = await getInstance(report.instance_id);
  if (!instance) {
    logger.warn('a host runs a guest of a deleted instance; destroying it', { host: report.host, instance_id: report.instance_id });
    return sendDestroy(report.host, report.instance_id, report.request_id);
  }
  if (instance.task_state !== TaskState.SPAWNING || instance.host !== report.host) {
    return logger.info('ignoring a stale spawned report', { instance_id: instance.id, task_state: instance.task_state });
  }
  if (instance.vm_state === VmState.SHELVED_OFFLOADED) return onUnshelveSpawned(report, instance);
  const now = new Date().toISOString();
  const updated = await updateInstance(instance, {
    vm_state: VmState.ACTIVE,
    task_state: null,
    task_deadline: null,
    power_state: report.power_state,
    launched_at: now,
  });
  if (!updated) return;
  logger.info('instance is active', { instance_id: instance.id, host: report.host });
  if (report.request_id) {
    const event = ACTION_EVENTS.create!;
    await finishEvent(instance.id, report.request_id, { event, start_time: report.started_at ?? report.at, finish_time: report.at, result: 'Success' });
  }
}
