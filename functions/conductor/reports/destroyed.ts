import type { z } from 'zod';
import { ACTION_EVENTS, TaskState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { DestroyedReportSchema } from '../../../shared/messages/conductor.js';
import { getInstance, removeInstance } from '../../../shared/store/instances.js';
import { finishEvent } from '../../../shared/store/instance-actions.js';
import { deleteConsoleLog } from '../console-log.js';
import { onShelveOffloaded } from './shelve-offloaded.js';

/** The guest is gone from its host: remove the instance, releasing its claim and quota once. */
export async function onDestroyed(report: z.infer<typeof DestroyedReportSchema>): Promise<void> {
  const instance = await getInstance(report.instance_id);
  if (instance?.task_state === TaskState.SHELVING_OFFLOADING && instance.host === report.host) return onShelveOffloaded(report, instance);
  if (!instance || instance.task_state !== TaskState.DELETING) return;
  if (!(await removeInstance(instance))) return;
  logger.info('instance deleted', { instance_id: instance.id, host: report.host });
  if (report.request_id) {
    const event = ACTION_EVENTS.delete!;
    await finishEvent(instance.id, report.request_id, { event, start_time: report.started_at ?? report.at, finish_time: report.at, result: 'Success' });
  }
  await deleteConsoleLog(instance.id);
}
