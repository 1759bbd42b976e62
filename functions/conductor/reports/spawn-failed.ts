import type { z } from 'zod';
import { ACTION_EVENTS, TaskState, VmState } from '../../../shared/domain/instance-states.js';
import { config } from '../../../shared/config.js';
import { logger } from '../../../shared/logger.js';
import type { SpawnFailedReportSchema } from '../../../shared/messages/conductor.js';
import { SchedulerMessageSchema } from '../../../shared/messages/scheduler.js';
import { sendMessage } from '../../../shared/messages/send.js';
import { claimRelease, deadlineFor, getInstance, transact, versionedUpdate } from '../../../shared/store/instances.js';
import { finishEvent } from '../../../shared/store/instance-actions.js';
import { onUnshelveSpawnFailed } from './unshelve-spawned.js';

/** Builds tried before an instance goes to ERROR (Nova's [scheduler] max_attempts). */
export const MAX_BUILD_ATTEMPTS = 3;

/**
 * A host could not build the guest: release its claim and reschedule elsewhere, or, after
 * MAX_BUILD_ATTEMPTS hosts, put the instance in ERROR with the host's reason as its fault.
 */
export async function onSpawnFailed(report: z.infer<typeof SpawnFailedReportSchema>): Promise<void> {
  const instance = await getInstance(report.instance_id);
  if (!instance || instance.task_state !== TaskState.SPAWNING || instance.host !== report.host) {
    return logger.info('ignoring a stale spawn_failed report', { instance_id: report.instance_id });
  }
  if (instance.vm_state === VmState.SHELVED_OFFLOADED) return onUnshelveSpawnFailed(report, instance);
  const attempted = [...instance.attempted_hosts, report.host];
  const release = claimRelease(instance);
  if (attempted.length < MAX_BUILD_ATTEMPTS) {
    const changes = {
      task_state: TaskState.SCHEDULING,
      task_deadline: deadlineFor(TaskState.SCHEDULING),
      host: null,
      claimed_host: null,
      attempted_hosts: attempted,
    };
    if (!(await transact([versionedUpdate(instance, changes), ...release]))) return;
    logger.warn('build failed on host, rescheduling', { instance_id: instance.id, host: report.host, reason: report.reason });
    await sendMessage(config().SCHEDULER_QUEUE_URL, SchedulerMessageSchema, {
      type: 'build',
      request_id: report.request_id ?? 'req-reschedule',
      instance_id: instance.id,
    });
    return;
  }
  const fault = {
    code: 500,
    message: `Build of instance ${instance.id} failed on ${attempted.length} hosts: ${report.reason}`,
    details: `Hosts tried: ${attempted.join(', ')}`,
    created: new Date().toISOString(),
  };
  const changes = { vm_state: VmState.ERROR, task_state: null, task_deadline: null, claimed_host: null, attempted_hosts: attempted, fault };
  if (await transact([versionedUpdate(instance, changes), ...release])) {
    logger.error('build failed on every host tried', { instance_id: instance.id, hosts: attempted });
    if (report.request_id) {
      const event = ACTION_EVENTS.create!;
      await finishEvent(instance.id, report.request_id, { event, start_time: report.started_at ?? report.at, finish_time: report.at, result: 'Error', traceback: fault.message });
    }
  }
}
