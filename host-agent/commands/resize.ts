import type { z } from 'zod';
import type {
  ConfirmResizeCommandSchema,
  FinishResizeCommandSchema,
  FinishRevertResizeCommandSchema,
  ResizeInstanceCommandSchema,
  RevertResizeCommandSchema,
} from '../../shared/messages/host.js';
import { PowerState } from '../../shared/domain/instance-states.js';
import type { GuestSpec } from '../../shared/messages/host.js';
import type { SpawnedGuest } from '../drivers/driver.js';
import { currentPowerState, type CommandContext } from './context.js';
import { runMoveStep } from './migration-report.js';

/**
 * The agent's half of a move (Nova's resize_instance, finish_resize, confirm_resize,
 * revert_resize, finish_revert_resize). The source sets its guest aside and keeps it until the
 * confirm or revert; the destination builds the guest from it. Each handler is idempotent: a
 * command seen twice finds its work done and reports it again.
 */

/** Source: power off, set the guest aside, report `disk_ready`. A disk never shrinks (Nova's libvirt: "Unable to resize disk down."). */
export function handleResizeInstance(command: z.infer<typeof ResizeInstanceCommandSchema>, ctx: CommandContext): Promise<void> {
  const id = command.instance_id;
  return runMoveStep(command, ctx, 'disk_ready', async () => {
    const record = ctx.state.guest(id);
    if (!record && (await ctx.driver.hasMigrationCopy(id))) return ctx.log.info('guest set aside already');
    if (record?.phase !== 'built') throw new Error(record ? `guest ${id} is ${record.phase} on this host` : `guest ${id} not found on this host`);
    const old = record.spec.flavor;
    if (command.new_flavor.disk < old.disk || command.new_flavor.ephemeral < old.ephemeral) throw new Error('Resize error: Unable to resize disk down.');
    await ctx.driver.migrateDiskAndPowerOff(id, command.timeout_sec);
    // No longer a guest of this host (a late spawn of it changes nothing); its copy is the driver's until confirm or revert.
    await ctx.state.replaceWithTombstone({ instance_id: id, request_id: command.request_id, outcome: 'destroyed', at: new Date().toISOString() });
  });
}

/** Destination: the guest from the moved disk with the new flavor and the same ports; recorded only once built (a crash mid-way is redone by the command). */
export function handleFinishResize(command: z.infer<typeof FinishResizeCommandSchema>, ctx: CommandContext): Promise<void> {
  const id = command.instance_id;
  return runMoveStep(command, ctx, 'finished', async () => {
    if (ctx.state.guest(id)?.phase === 'built') return ctx.log.info('guest built here already');
    try {
      await recordBuilt(ctx, command, await ctx.driver.finishMigration(command.guest, command.power_on));
    } catch (error) {
      // Whatever it built goes; a copy set aside on this host (a same-host resize) is not the driver's guest and stays.
      await ctx.driver.destroy(id);
      throw error;
    }
  });
}

/** Source: drop the copy (Nova's confirm_migration). */
export function handleConfirmResize(command: z.infer<typeof ConfirmResizeCommandSchema>, ctx: CommandContext): Promise<void> {
  return runMoveStep(command, ctx, 'confirmed', () => ctx.driver.confirmMigration(command.instance_id));
}

/** Destination: destroy the guest the move built. On the source's own host it is only the move's while the copy is set aside. */
export function handleRevertResize(command: z.infer<typeof RevertResizeCommandSchema>, ctx: CommandContext): Promise<void> {
  const id = command.instance_id;
  return runMoveStep(command, ctx, 'dest_reverted', async () => {
    if (command.same_host && !(await ctx.driver.hasMigrationCopy(id))) return ctx.log.info('reverted already: the guest here is the original');
    if (ctx.state.guest(id)) await ctx.state.updateGuest(id, { phase: 'deleting', request_id: command.request_id });
    await ctx.driver.destroy(id);
    await ctx.state.replaceWithTombstone({ instance_id: id, request_id: command.request_id, outcome: 'destroyed', at: new Date().toISOString() });
  });
}

/**
 * Source: the copy set aside is the guest again, with the old flavor (a guest the move built on
 * this same host goes first). Without a copy, the guest was never set aside or is back already:
 * it is only started if it should run.
 */
export function handleFinishRevertResize(command: z.infer<typeof FinishRevertResizeCommandSchema>, ctx: CommandContext): Promise<void> {
  const id = command.instance_id;
  return runMoveStep(command, ctx, 'reverted', async () => {
    if (await ctx.driver.hasMigrationCopy(id)) {
      if (ctx.state.guest(id)) await ctx.driver.destroy(id);
      await recordBuilt(ctx, command, await ctx.driver.finishRevertMigration(command.guest, command.power_on));
      return;
    }
    if (ctx.state.guest(id)?.phase !== 'built') throw new Error(`no copy of guest ${id} is kept on this host`);
    if (command.power_on && (await currentPowerState(ctx.driver, id)) === PowerState.SHUTDOWN) await ctx.driver.powerOn(id);
  });
}

/** The guest a move built (or brought back) is this host's again, recorded as built with the command's spec. */
async function recordBuilt(ctx: CommandContext, command: { instance_id: string; request_id: string; guest: GuestSpec }, guest: SpawnedGuest): Promise<void> {
  const now = new Date().toISOString();
  await ctx.state.putGuest({ instance_id: command.instance_id, request_id: command.request_id, phase: 'built', power_state: guest.power_state, spec: command.guest, created_at: now, updated_at: now });
}
