import type { z } from 'zod';
import { PowerState } from '../../shared/domain/instance-states.js';
import type { ShelveCommandSchema } from '../../shared/messages/host.js';
import { currentPowerState, type CommandContext } from './context.js';
import { runGuestAction } from './guest-action.js';
import { snapshotAndUpload } from './snapshot.js';

/**
 * Nova's shelve_instance: a clean shutdown (forced off after the timeout), then the disk goes to
 * the shelved image as a snapshot's does. The guest stays, powered off: an offload destroys it
 * once the conductor has the image. A command seen twice finds the guest off and uploads again.
 */
export function handleShelve(command: z.infer<typeof ShelveCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, {
    action: 'shelve',
    run: async () => {
      if ((await currentPowerState(ctx.driver, command.instance_id)) !== PowerState.SHUTDOWN) {
        await ctx.driver.powerOff(command.instance_id, command.timeout_sec);
      }
      return snapshotAndUpload(command, ctx);
    },
  });
}
