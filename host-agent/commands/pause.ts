import type { z } from 'zod';
import { PowerState } from '../../shared/domain/instance-states.js';
import type { PauseCommandSchema, UnpauseCommandSchema } from '../../shared/messages/host.js';
import type { CommandContext } from './context.js';
import { runGuestAction } from './guest-action.js';

/** Nova's pause_instance: the guest's vCPUs stop, its memory stays. */
export function handlePause(command: z.infer<typeof PauseCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, { action: 'pause', target: PowerState.PAUSED, run: () => ctx.driver.pause(command.instance_id) });
}

export function handleUnpause(command: z.infer<typeof UnpauseCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, { action: 'unpause', target: PowerState.RUNNING, run: () => ctx.driver.unpause(command.instance_id) });
}
