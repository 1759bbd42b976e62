import { describe, expect, it } from 'vitest';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { HostCommandSchema } from '../../../shared/messages/host.js';
import { dispatchCommand } from '../../../host-agent/commands/dispatch.js';
import { BaseComputeDriver, NotSupportedByDriver } from '../../../host-agent/drivers/driver.js';
import { commandContext, fakeInventory, withSpawnedGuest, type TestContext } from './support.js';

const dump = (ctx: TestContext, instance_id: string, request_id = 'req-dump') =>
  dispatchCommand(HostCommandSchema.parse({ type: 'trigger_crash_dump', request_id, instance_id }), ctx);

describe('trigger_crash_dump on the host', () => {
  it('injects an NMI and reports action_done; the guest keeps running', async () => {
    const { ctx, driver, id } = await withSpawnedGuest();
    await dump(ctx, id);
    expect(driver.nmisOf(id)).toBe(1);
    expect(await driver.getConsoleOutput(id, 1)).toBe('fake: NMI injected (trigger_crash_dump)\n');
    expect(ctx.sink.reports).toEqual([
      expect.objectContaining({ type: 'action_done', action: 'trigger_crash_dump', request_id: 'req-dump', instance_id: id, power_state: PowerState.RUNNING }),
    ]);
  });

  it('a paused guest takes it too', async () => {
    const { ctx, driver, id } = await withSpawnedGuest();
    await driver.pause(id);
    await dump(ctx, id);
    expect(driver.nmisOf(id)).toBe(1);
    expect(ctx.sink.ofType('action_done')).toHaveLength(1);
  });

  it('a stopped guest, or one this host does not have, is an action_failed with the reason', async () => {
    const { ctx, driver, id } = await withSpawnedGuest();
    await driver.powerOff(id, 0);
    await dump(ctx, id);
    expect(driver.nmisOf(id)).toBe(0);
    expect(ctx.sink.ofType('action_failed')).toEqual([
      expect.objectContaining({ action: 'trigger_crash_dump', power_state: PowerState.SHUTDOWN, reason: expect.stringContaining('cannot trigger crash dump') }),
    ]);

    const missing = await commandContext();
    await dump(missing, '00000000-0000-4000-8000-000000000001');
    expect(missing.sink.ofType('action_failed')[0].reason).toContain('not found on this host');
  });

  it('a driver without it says so (Nova: TriggerCrashDumpNotSupported)', async () => {
    class MinimalDriver extends BaseComputeDriver {
      readonly name = 'minimal';
      async init() {}
      async getInventory() {
        return { ...fakeInventory, hypervisor_type: 'x', hypervisor_version: 1, virt_type: 'x' };
      }
      async listGuests() {
        return [];
      }
      async getInfo(instanceId: string) {
        return { instance_id: instanceId, power_state: PowerState.RUNNING };
      }
      async spawn() {
        return { power_state: PowerState.RUNNING, addresses: {} };
      }
      async destroy() {}
    }
    await expect(new MinimalDriver().triggerCrashDump('x')).rejects.toBeInstanceOf(NotSupportedByDriver);
  });
});
