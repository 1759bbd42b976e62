import { describe, expect, it } from 'vitest';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { handleSpawn } from '../../../host-agent/commands/spawn.js';
import { beat } from '../../../host-agent/heartbeat.js';
import { commandContext, guestSpec } from './support.js';

describe('heartbeat', () => {
  it('reports the guests with their power state and records power state changes', async () => {
    const ctx = await commandContext();
    const paused = guestSpec();
    const lost = guestSpec();
    for (const guest of [paused, lost]) await handleSpawn({ type: 'spawn', request_id: 'r', guest }, ctx);
    await ctx.driver.pause(paused.instance_id);
    // A guest that vanished from the hypervisor behind the agent's back.
    await ctx.driver.destroy(lost.instance_id);

    await beat({ ...ctx, intervalMs: 10_000 });
    const [heartbeat] = ctx.sink.ofType('heartbeat');
    expect(heartbeat.host).toBe('compute-1');
    expect(heartbeat.guests).toEqual(
      expect.arrayContaining([
        { instance_id: paused.instance_id, power_state: PowerState.PAUSED },
        { instance_id: lost.instance_id, power_state: PowerState.NOSTATE },
      ]),
    );
    expect(ctx.state.guest(paused.instance_id)?.power_state).toBe(PowerState.PAUSED);
    expect(ctx.state.guest(lost.instance_id)?.power_state).toBe(PowerState.NOSTATE);
  });
});
