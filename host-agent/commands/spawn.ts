import type { z } from 'zod';
import { PowerState } from '../../shared/domain/instance-states.js';
import type { SpawnCommandSchema } from '../../shared/messages/host.js';
import type { SpawnedGuest } from '../drivers/driver.js';
import { currentPowerState, describeError, type CommandContext } from './context.js';

export type SpawnCommand = z.infer<typeof SpawnCommandSchema>;

type BuildOutcome = { ok: true; guest: SpawnedGuest } | { ok: false; reason: string };

/**
 * Builds a guest and reports `spawned` or `spawn_failed`. Idempotent: a spawn for a guest the
 * agent already has re-reports it, a spawn for a guest already destroyed or already failed
 * here reports that outcome again, and a build interrupted by a crash is cleaned up and redone.
 */
export async function handleSpawn(command: SpawnCommand, ctx: CommandContext): Promise<void> {
  const { guest: spec, request_id } = command;
  const instanceId = spec.instance_id;
  const { state, driver, reporter, log } = ctx;

  await ctx.guestLocks.run(instanceId, async () => {
    // An unshelve spawns again a guest this host may have destroyed (offloaded) before.
    const remembered = state.tombstone(instanceId);
    const tombstone = remembered && command.unshelving_since && remembered.at < command.unshelving_since ? undefined : remembered;
    if (tombstone?.outcome === 'destroyed') {
      log.info('not spawning a guest that was already destroyed on this host');
      await reporter.send({ type: 'destroyed', request_id, instance_id: instanceId });
      return;
    }
    if (tombstone?.outcome === 'spawn_failed') {
      log.info('spawn already failed on this host, reporting it again', { reason: tombstone.reason });
      await reporter.send({ type: 'spawn_failed', request_id, instance_id: instanceId, reason: tombstone.reason ?? 'spawn failed' });
      return;
    }

    const existing = state.guest(instanceId);
    if (existing?.phase === 'built') {
      const powerState = await currentPowerState(driver, instanceId);
      log.info('guest already exists, reporting it again', { power_state: powerState });
      await reporter.send({ type: 'spawned', request_id, instance_id: instanceId, power_state: powerState });
      return;
    }
    if (existing?.phase === 'deleting') {
      // A destroy started and the agent died before it finished: the delete wins.
      log.info('guest was being destroyed, finishing that instead of spawning');
      await driver.destroy(instanceId);
      await state.replaceWithTombstone({ instance_id: instanceId, request_id, outcome: 'destroyed', at: new Date().toISOString() });
      log.info('destroyed guest');
      await reporter.send({ type: 'destroyed', request_id, instance_id: instanceId });
      return;
    }
    if (existing?.phase === 'building') {
      // Only a previous run of the agent can have left this (the lock keeps this run's builds apart).
      log.warn('a build of this guest was interrupted, cleaning up and building it again');
      await driver.destroy(instanceId);
    }

    const startedAt = new Date().toISOString();
    const outcome = await ctx.builds.run(() => build(command, ctx));
    if (outcome.ok) {
      await reporter.send({
        type: 'spawned',
        request_id,
        started_at: startedAt,
        instance_id: instanceId,
        power_state: outcome.guest.power_state,
        addresses: outcome.guest.addresses,
      });
    } else {
      await reporter.send({ type: 'spawn_failed', request_id, started_at: startedAt, instance_id: instanceId, reason: outcome.reason });
    }
  });
}

async function build({ guest: spec, request_id }: SpawnCommand, { state, driver, log }: CommandContext): Promise<BuildOutcome> {
  const instanceId = spec.instance_id;
  const now = new Date().toISOString();
  // Recorded before the driver acts, so a crash mid-build is noticed and cleaned up.
  await state.putGuest({ instance_id: instanceId, request_id, phase: 'building', power_state: PowerState.NOSTATE, spec, created_at: now, updated_at: now });
  log.info('spawning guest', { flavor: spec.flavor.name, image_id: spec.image_id });
  const started = Date.now();
  let guest: SpawnedGuest;
  try {
    guest = await driver.spawn(spec);
  } catch (error) {
    const reason = describeError(error);
    log.error('spawn failed', { reason, error: error as Error });
    // If the cleanup fails this throws: the record stays `building` and the command comes back.
    await driver.destroy(instanceId);
    await state.replaceWithTombstone({ instance_id: instanceId, request_id, outcome: 'spawn_failed', reason, at: new Date().toISOString() });
    return { ok: false, reason };
  }
  await state.updateGuest(instanceId, { phase: 'built', power_state: guest.power_state });
  log.info('guest running', { power_state: guest.power_state, spawn_ms: Date.now() - started });
  return { ok: true, guest };
}
