import type { z } from 'zod';
import type { RescueCommandSchema, UnrescueCommandSchema } from '../../shared/messages/host.js';
import type { CommandContext } from './context.js';
import { runGuestAction } from './guest-action.js';

/**
 * Nova's rescue_instance: the guest boots the rescue image with its own disk attached. As for a
 * rebuild, the local record takes this request's id only once the rescue is done, so a command
 * delivered twice is not carried out twice, and one cut short by a crash is done again.
 */
export function handleRescue(command: z.infer<typeof RescueCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, {
    action: 'rescue',
    run: async () => {
      if (alreadyDoneBy(command, ctx)) return ctx.log.info('guest already rescued by this request');
      ctx.log.info('rescuing guest', { rescue_image_id: command.rescue_image.id });
      await ctx.driver.powerOff(command.instance_id, command.timeout_sec);
      await ctx.driver.rescue(command.instance_id, command.rescue_image);
      await ctx.state.updateGuest(command.instance_id, { request_id: command.request_id });
    },
  });
}

/** Nova's unrescue_instance: the rescue guest goes, the guest boots its own disk again (running, as Nova leaves it). */
export function handleUnrescue(command: z.infer<typeof UnrescueCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, {
    action: 'unrescue',
    run: async () => {
      if (alreadyDoneBy(command, ctx)) return ctx.log.info('guest already unrescued by this request');
      ctx.log.info('unrescuing guest');
      await ctx.driver.unrescue(command.instance_id);
      await ctx.state.updateGuest(command.instance_id, { request_id: command.request_id });
    },
  });
}

function alreadyDoneBy(command: { instance_id: string; request_id: string }, ctx: CommandContext): boolean {
  return ctx.state.guest(command.instance_id)?.request_id === command.request_id;
}
