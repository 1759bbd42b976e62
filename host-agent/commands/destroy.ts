import type { z } from 'zod';
import type { DestroyCommandSchema } from '../../shared/messages/host.js';
import type { CommandContext } from './context.js';

export type DestroyCommand = z.infer<typeof DestroyCommandSchema>;

/**
 * Destroys a guest and reports `destroyed`, whether or not this host had it (a destroy seen
 * twice, or for a guest never built here, has nothing left to do). The tombstone it leaves
 * stops a spawn that arrives late from building the guest again.
 */
export async function handleDestroy({ instance_id: instanceId, request_id }: DestroyCommand, ctx: CommandContext): Promise<void> {
  const { state, driver, reporter, log } = ctx;

  await ctx.guestLocks.run(instanceId, async () => {
    const startedAt = new Date().toISOString();
    const existing = state.guest(instanceId);
    if (existing) {
      if (existing.phase !== 'deleting') await state.updateGuest(instanceId, { phase: 'deleting', request_id });
      log.info('destroying guest');
    } else {
      log.info('guest unknown on this host, reporting it destroyed');
    }
    // Also for an unknown guest: the hypervisor may hold one the agent lost track of.
    await driver.destroy(instanceId);
    await state.replaceWithTombstone({ instance_id: instanceId, request_id, outcome: 'destroyed', at: new Date().toISOString() });
    if (existing) log.info('destroyed guest');
    await reporter.send({ type: 'destroyed', request_id, started_at: startedAt, instance_id: instanceId });
  });
}
