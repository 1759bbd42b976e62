import type { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { ACTION_EVENTS, InstanceActionName, PowerState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { DestroyedReportSchema } from '../../../shared/messages/conductor.js';
import { finishEvent, getAction } from '../../../shared/store/instance-actions.js';
import { returnToOffloaded } from './unshelve-spawned.js';

/**
 * The shelved guest is gone from its host (Nova's _shelve_offload_instance): SHELVED_OFFLOADED,
 * without host, and the host's claim released in the same conditional write, so exactly once.
 * The caller checked the instance is offloading from this host.
 */
export async function onShelveOffloaded(report: z.infer<typeof DestroyedReportSchema>, instance: Instance): Promise<void> {
  if (!(await completeOffload(instance))) return;
  logger.info('instance offloaded', { instance_id: instance.id, host: report.host });
  // An offload asked by shelveOffload has its own action; one that follows a shelve ended with the shelve's.
  if (!report.request_id) return;
  const action = await getAction(instance.id, report.request_id);
  if (action?.action !== InstanceActionName.SHELVE_OFFLOAD) return;
  const event = ACTION_EVENTS[InstanceActionName.SHELVE_OFFLOAD]!;
  await finishEvent(instance.id, report.request_id, { event, start_time: report.started_at ?? report.at, finish_time: report.at, result: 'Success' });
}

export const completeOffload = (instance: Instance) => returnToOffloaded(instance, { power_state: PowerState.NOSTATE });
