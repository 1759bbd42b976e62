import type { z } from 'zod';
import { PowerState } from '../../shared/domain/instance-states.js';
import type { MigrationReportSchema } from '../../shared/messages/conductor.js';
import type { HostCommand } from '../../shared/messages/host.js';
import { currentPowerState, describeError, type CommandContext } from './context.js';

export type MoveCommand = Extract<HostCommand, { migration_id: string }>;
type Step = z.infer<typeof MigrationReportSchema>['step'];

/**
 * Runs one step of a move under the guest's lock and reports it (`step`) or its failure, with the
 * guest's power state afterwards. The conductor applies a step once, so reporting again is safe.
 */
export async function runMoveStep(command: MoveCommand, ctx: CommandContext, step: Step, run: () => Promise<void>): Promise<void> {
  const { instance_id: instanceId, request_id, migration_id } = command;
  await ctx.guestLocks.run(instanceId, async () => {
    const base = { type: 'migration', request_id, instance_id: instanceId, migration_id, started_at: new Date().toISOString() } as const;
    try {
      await run();
      const powerState = await currentPowerState(ctx.driver, instanceId);
      ctx.log.info('move step done', { step, migration_id, power_state: powerState });
      await ctx.reporter.send({ ...base, step, power_state: powerState });
    } catch (error) {
      const reason = describeError(error);
      ctx.log.error('move step failed', { command: command.type, migration_id, reason, error: error as Error });
      const powerState = await currentPowerState(ctx.driver, instanceId).catch(() => PowerState.NOSTATE);
      await ctx.reporter.send({ ...base, step: 'failed', command: command.type, power_state: powerState, reason });
    }
  });
}
