import { describe, expect, it } from 'vitest';
import { PowerState } from '../../../../shared/domain/instance-states.js';
import { FakeDriver } from '../../../../host-agent/drivers/fake.js';
import { beat } from '../../../../host-agent/heartbeat.js';
import { LocalState } from '../../../../host-agent/local-state.js';
import { Reporter } from '../../../../host-agent/reports.js';
import { fakeInventory, guestSpec, MemoryReportSink, silentLogger, tempDir } from '../support.js';

describe('heartbeat with a guest the agent does not know', () => {
  it('reports it apart as an unknown guest, and the known ones as usual', async () => {
    const state = await LocalState.open(await tempDir());
    const known = guestSpec();
    const stranger = guestSpec();
    const now = new Date().toISOString();
    await state.putGuest({ instance_id: known.instance_id, request_id: 'r1', phase: 'built', power_state: PowerState.RUNNING, spec: known, created_at: now, updated_at: now });
    // The hypervisor has both (a QEMU left from another install, say); the agent remembers one.
    const driver = new FakeDriver({ inventory: fakeInventory });
    await driver.init([known, stranger].map((spec) => ({ instance_id: spec.instance_id, spec, power_state: PowerState.RUNNING, built: true })));
    const sink = new MemoryReportSink();
    await beat({ driver, state, reporter: new Reporter(sink, 'h1'), log: silentLogger(), intervalMs: 1000 });
    const [heartbeat] = sink.ofType('heartbeat');
    expect(heartbeat.guests).toEqual([{ instance_id: known.instance_id, power_state: PowerState.RUNNING }]);
    expect(heartbeat.unknown_guests).toEqual([stranger.instance_id]);
    expect(await driver.listGuests()).toHaveLength(2); // reported, never killed
  });
});
