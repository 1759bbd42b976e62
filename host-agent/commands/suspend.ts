import type { z } from 'zod';
import { PowerState } from '../../shared/domain/instance-states.js';
import type { ResumeCommandSchema, SuspendCommandSchema } from '../../shared/messages/host.js';
import type { CommandContext } from './context.js';
import { runGuestAction } from './guest-action.js';

/** Nova's suspend_instance: the guest's memory goes to disk and its process ends. */
export function handleSuspend(command: z.infer<typeof SuspendCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, { action: 'suspend', target: PowerState.SUSPENDED, run: () => ctx.driver.suspend(command.instance_id) });
}

export function handleResume(command: z.infer<typeof ResumeCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, { action: 'resume', target: PowerState.RUNNING, run: () => ctx.driver.resume(command.instance_id) });
}
