import { ACTION_EVENTS, InstanceActionName } from '../domain/instance-states.js';
import type { Migration } from '../domain/migration.js';
import { finishEvent } from '../store/instance-actions.js';

/** The instance action that asked for the move (resize or migrate). */
export const moveActionOf = (m: Pick<Migration, 'migration_type'>) => (m.migration_type === 'resize' ? InstanceActionName.RESIZE : InstanceActionName.MIGRATE);

/** Finishes the event of an action of a move (once: a repeated finish changes nothing). */
export async function finishMoveEvent(
  instanceId: string,
  requestId: string,
  action: InstanceActionName,
  o: { start: string; finish: string; error?: string | null },
): Promise<void> {
  const event = ACTION_EVENTS[action];
  if (!event) return;
  await finishEvent(instanceId, requestId, { event, start_time: o.start, finish_time: o.finish, result: o.error ? 'Error' : 'Success', traceback: o.error ?? null });
}
