import { PowerState } from '../../shared/domain/instance-states.js';
import type { GuestAction, SnapshotUpload } from '../../shared/messages/conductor.js';
import { currentPowerState, describeError, type CommandContext } from './context.js';

/** What an action's work may add to its `action_done` report. */
export type ActionResult = { snapshot?: SnapshotUpload } | void;

export interface GuestActionSpec {
  action: GuestAction;
  /** The power state the action leads to: a guest already there is not touched again (a command seen twice). */
  target?: PowerState;
  run(): Promise<ActionResult>;
}

/**
 * Runs one action on a guest this host has, under the guest's lock, and reports `action_done`
 * or `action_failed` with the guest's power state afterwards. The conductor applies a report
 * only once and only while the instance still waits for this request, so reporting again is safe.
 */
export async function runGuestAction(command: { request_id: string; instance_id: string }, ctx: CommandContext, spec: GuestActionSpec): Promise<void> {
  const { instance_id: instanceId, request_id } = command;
  const { state, driver, reporter, log } = ctx;

  await ctx.guestLocks.run(instanceId, async () => {
    const startedAt = new Date().toISOString();
    const base = { request_id, instance_id: instanceId, action: spec.action, started_at: startedAt };
    const record = state.guest(instanceId);
    if (record?.phase !== 'built') {
      const reason = record ? `guest ${instanceId} is ${record.phase} on this host` : `guest ${instanceId} not found on this host`;
      log.warn('cannot run action', { action: spec.action, reason });
      await reporter.send({ type: 'action_failed', ...base, power_state: await currentPowerState(driver, instanceId), reason });
      return;
    }

    try {
      let result: ActionResult = undefined;
      if (spec.target !== undefined && (await currentPowerState(driver, instanceId)) === spec.target) {
        log.info('guest already in the state the action leads to', { action: spec.action, power_state: spec.target });
      } else {
        log.info('running guest action', { action: spec.action });
        result = await spec.run();
      }
      const powerState = await currentPowerState(driver, instanceId);
      if (state.guest(instanceId)) await state.updateGuest(instanceId, { power_state: powerState });
      log.info('guest action done', { action: spec.action, power_state: powerState });
      await reporter.send({ type: 'action_done', ...base, power_state: powerState, ...(result ?? {}) });
    } catch (error) {
      const reason = describeError(error);
      log.error('guest action failed', { action: spec.action, reason, error: error as Error });
      const powerState = await currentPowerState(driver, instanceId).catch(() => PowerState.NOSTATE);
      if (state.guest(instanceId)) await state.updateGuest(instanceId, { power_state: powerState });
      await reporter.send({ type: 'action_failed', ...base, power_state: powerState, reason });
    }
  });
}
