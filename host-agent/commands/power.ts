import type { z } from 'zod';
import { PowerState } from '../../shared/domain/instance-states.js';
import type { PowerOffCommandSchema, PowerOnCommandSchema } from '../../shared/messages/host.js';
import type { CommandContext } from './context.js';
import { runGuestAction } from './guest-action.js';

/** Nova's stop_instance (and soft_delete_instance): ACPI power-down, forced off after the timeout. A stopped guest stays stopped. */
export function handlePowerOff(command: z.infer<typeof PowerOffCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, {
    action: command.action ?? 'stop',
    target: PowerState.SHUTDOWN,
    run: () => ctx.driver.powerOff(command.instance_id, command.timeout_sec),
  });
}

/** Nova's start_instance (and restore_instance). A running guest is left as it is. */
export function handlePowerOn(command: z.infer<typeof PowerOnCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, {
    action: command.action ?? 'start',
    target: PowerState.RUNNING,
    run: () => ctx.driver.powerOn(command.instance_id),
  });
}
