import type { z } from 'zod';
import type { AttachInterfaceCommandSchema, DetachInterfaceCommandSchema } from '../../shared/messages/host.js';
import { describeError, type CommandContext } from './context.js';

/**
 * Nova's attach_interface / detach_interface on the host: the driver hot-plugs (or unplugs) the
 * NIC and keeps the guest's spec in step, under the guest's lock. The API has made, bound and
 * planned the port already and does not wait for the host, so nothing is reported: the outcome
 * is logged, and a failure leaves the guest's NICs as they were (the port stays on the server, and
 * its next start, reboot or rebuild plugs it). Both are idempotent: a command seen twice changes nothing twice.
 */
export function handleAttachInterface(command: z.infer<typeof AttachInterfaceCommandSchema>, ctx: CommandContext): Promise<void> {
  const { nic } = command;
  return onBuiltGuest(command.instance_id, ctx, 'attach interface', { port_id: nic.port_id, tap: nic.tap_name }, () =>
    ctx.driver.attachInterface(command.instance_id, nic),
  );
}

export function handleDetachInterface(command: z.infer<typeof DetachInterfaceCommandSchema>, ctx: CommandContext): Promise<void> {
  return onBuiltGuest(command.instance_id, ctx, 'detach interface', { port_id: command.port_id }, () =>
    ctx.driver.detachInterface(command.instance_id, command.port_id),
  );
}

async function onBuiltGuest(instanceId: string, ctx: CommandContext, what: string, details: Record<string, string>, work: () => Promise<void>): Promise<void> {
  await ctx.guestLocks.run(instanceId, async () => {
    const record = ctx.state.guest(instanceId);
    if (record?.phase !== 'built') {
      ctx.log.warn(`cannot ${what}`, { ...details, reason: record ? `guest ${instanceId} is ${record.phase} on this host` : `guest ${instanceId} not found on this host` });
      return;
    }
    try {
      await work();
      ctx.log.info(`${what}: done`, details);
    } catch (error) {
      ctx.log.error(`${what}: failed`, { ...details, reason: describeError(error), error: error as Error });
    }
  });
}
