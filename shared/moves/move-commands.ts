import type { Instance, Move } from '../domain/instance.js';
import { VmState } from '../domain/instance-states.js';
import { logger } from '../logger.js';
import { sendDestroy, sendHostCommand, spawnCommandFor } from '../messages/host-commands.js';
import type { HostCommand } from '../messages/host.js';
import { bindDevicePorts } from '../network-plan/sync.js';
import { transact } from '../store/instances.js';
import { migrationUpdate } from '../store/migrations.js';

/** How long the source gives the guest to shut down before forcing it off (Nova's shutdown_timeout). */
export const MOVE_POWER_OFF_TIMEOUT_SECONDS = 60;

/** An instance with its move (the commands below are only sent for one). */
export type MovingInstance = Instance & { move: Move };

const powerOnAfter = (i: MovingInstance) => i.move.old_vm_state !== VmState.STOPPED;
const base = (i: MovingInstance, requestId: string) => ({ request_id: requestId, instance_id: i.id, migration_id: i.move.migration_id });

type MoveCommand = Extract<HostCommand, { migration_id: string }>;

async function send(host: string, command: MoveCommand): Promise<void> {
  if (!(await sendHostCommand(host, command))) logger.error('the host has no queue; the move will time out', { host, command: command.type, instance_id: command.instance_id });
}

/** Source: power off and set the disk aside (Nova's resize_instance). */
export function sendResizeInstance(i: MovingInstance, requestId: string): Promise<void> {
  return send(i.move.source_host, { type: 'resize_instance', ...base(i, requestId), new_flavor: i.move.new_flavor, timeout_sec: MOVE_POWER_OFF_TIMEOUT_SECONDS });
}

/** Destination: its ports are bound there first (their network reaches it), then it builds the guest with the new flavor (Nova's finish_resize). */
export async function sendFinishResize(i: MovingInstance, requestId: string): Promise<void> {
  const dest = i.move.dest_host!;
  await bindDevicePorts(i.id, dest, requestId);
  const { guest } = await spawnCommandFor({ ...i, flavor: i.move.new_flavor }, requestId);
  await send(dest, { type: 'finish_resize', ...base(i, requestId), guest, source_host: i.move.source_host, power_on: powerOnAfter(i) });
}

/** Source: drop the kept copy (Nova's confirm_resize). */
export function sendConfirmResize(i: MovingInstance, requestId: string): Promise<void> {
  return send(i.move.source_host, { type: 'confirm_resize', ...base(i, requestId) });
}

/** Destination: destroy the guest the move built (Nova's revert_resize). */
export function sendRevertResize(i: MovingInstance, requestId: string): Promise<void> {
  const dest = i.move.dest_host!;
  return send(dest, { type: 'revert_resize', ...base(i, requestId), same_host: dest === i.move.source_host });
}

/** Source: its ports come back first, then the kept copy runs again with the old flavor (Nova's finish_revert_resize). */
export async function sendFinishRevertResize(i: MovingInstance, requestId: string): Promise<void> {
  await bindDevicePorts(i.id, i.move.source_host, requestId);
  const { guest } = await spawnCommandFor({ ...i, flavor: i.move.old_flavor }, requestId);
  await send(i.move.source_host, { type: 'finish_revert_resize', ...base(i, requestId), guest, power_on: powerOnAfter(i) });
}

/**
 * A move that failed or timed out: the guest goes back to (or stays on) its source. Another
 * destination destroys what it built; on the source's own host, the restore replaces it.
 */
export async function sendRollback(i: MovingInstance, requestId: string): Promise<void> {
  const dest = i.move.dest_host;
  if (dest && dest !== i.move.source_host) await sendRevertResize(i, requestId);
  await sendFinishRevertResize(i, requestId);
}

/**
 * A server deleted during its move: besides its own host's destroy (the delete's), the other end
 * destroys any guest the move built there and the source drops the copy it set aside.
 */
export async function cleanUpMoveOnDelete(i: MovingInstance, requestId: string): Promise<void> {
  const { source_host: source, dest_host: dest } = i.move;
  // As Nova's delete of a resized server, which confirms it first; a move still under way ends in error.
  const uuid = i.move.migration_id;
  if (!(await transact([migrationUpdate(uuid, ['finished', 'confirming'], { status: 'confirmed' })]))) {
    await transact([migrationUpdate(uuid, ['pre-migrating', 'migrating', 'post-migrating', 'reverting'], { status: 'error', error: 'the server was deleted during its move' })]);
  }
  for (const host of new Set([source, dest].filter((h): h is string => !!h && h !== i.claimed_host))) await sendDestroy(host, i.id, requestId);
  await send(source, { type: 'confirm_resize', ...base(i, requestId) });
}
