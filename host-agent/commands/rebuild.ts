import type { z } from 'zod';
import type { RebuildCommandSchema } from '../../shared/messages/host.js';
import { currentPowerState, type CommandContext } from './context.js';
import { runGuestAction } from './guest-action.js';

/**
 * Nova's rebuild_instance: the same guest on a fresh root disk from the new image. A guest that
 * was stopped is stopped again afterwards (Nova does the same). The local record takes the new
 * spec and this request's id only once the rebuild is done, so a command delivered twice is
 * recognised and not rebuilt again, and one interrupted by a crash is redone.
 */
export function handleRebuild(command: z.infer<typeof RebuildCommandSchema>, ctx: CommandContext): Promise<void> {
  const instanceId = command.instance_id;
  return runGuestAction(command, ctx, {
    action: 'rebuild',
    run: async () => {
      const record = ctx.state.guest(instanceId)!;
      if (record.request_id === command.request_id) {
        ctx.log.info('guest already rebuilt by this request');
        return;
      }
      ctx.log.info('rebuilding guest', { image_id: command.guest.image_id });
      await ctx.driver.rebuild(command.guest);
      if (!command.power_on) await ctx.driver.powerOff(instanceId, 0);
      const powerState = await currentPowerState(ctx.driver, instanceId);
      await ctx.state.putGuest({ ...record, spec: command.guest, request_id: command.request_id, power_state: powerState, updated_at: new Date().toISOString() });
    },
  });
}
