import type { z } from 'zod';
import { TaskState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { DestroyedReportSchema } from '../../../shared/messages/conductor.js';
import { getInstance, removeInstance } from '../../../shared/store/instances.js';

/** The guest is gone from its host: remove the instance, releasing its claim and quota once. */
export async function onDestroyed(report: z.infer<typeof DestroyedReportSchema>): Promise<void> {
  const instance = await getInstance(report.instance_id);
  if (!instance || instance.task_state !== TaskState.DELETING) return;
  if (await removeInstance(instance)) logger.info('instance deleted', { instance_id: instance.id, host: report.host });
}
