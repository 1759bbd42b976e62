import type { z } from 'zod';
import type { RebootCommandSchema } from '../../shared/messages/host.js';
import type { CommandContext } from './context.js';
import { runGuestAction } from './guest-action.js';

/** Nova's reboot_instance, SOFT (the guest OS restarts) or HARD (reset, whatever the guest's state). */
export function handleReboot(command: z.infer<typeof RebootCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, {
    action: 'reboot',
    run: () => ctx.driver.reboot(command.instance_id, command.reboot_type),
  });
}
