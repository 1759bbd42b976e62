import type { z } from 'zod';
import type { TriggerCrashDumpCommandSchema } from '../../shared/messages/host.js';
import type { CommandContext } from './context.js';
import { runGuestAction } from './guest-action.js';

/**
 * Nova's trigger_crash_dump: the driver injects an NMI. Reported done once the hypervisor took it,
 * as Nova's event is: whether the guest dumps, panics or only logs it is up to its kernel.
 */
export function handleTriggerCrashDump(command: z.infer<typeof TriggerCrashDumpCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, { action: 'trigger_crash_dump', run: () => ctx.driver.triggerCrashDump(command.instance_id) });
}
