import { describe, expect, it } from 'vitest';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { HostCommandSchema } from '../../../shared/messages/host.js';
import { dispatchCommand } from '../../../host-agent/commands/dispatch.js';
import { BaseComputeDriver } from '../../../host-agent/drivers/driver.js';
import { FakeDriver } from '../../../host-agent/drivers/fake.js';
import { fakeInventory, withSpawnedGuest, type TestContext } from './support.js';

const migration_id = '7d3c5b0e-6f43-4e3a-9d1c-2b9f0d7a1e55';
const bigger = { id: '2', name: 'm1.small', vcpus: 2, ram: 2048, disk: 20, ephemeral: 0, swap: 0, extra_specs: {} };
const run = (ctx: TestContext, command: Record<string, unknown>) => dispatchCommand(HostCommandSchema.parse({ request_id: `req-${command.type}`, migration_id, ...command }), ctx);

describe('a move on one host (resize to the same host)', () => {
  it('sets the guest aside, builds it with the new flavor, reverts to the old one, and a late revert leaves the original alone', async () => {
    const { ctx, driver, guest, id } = await withSpawnedGuest();
    await run(ctx, { type: 'resize_instance', instance_id: id, new_flavor: bigger, timeout_sec: 0 });
    await run(ctx, { type: 'resize_instance', instance_id: id, new_flavor: bigger, timeout_sec: 0 }); // delivered twice
    expect(await driver.hasMigrationCopy(id)).toBe(true);
    expect(ctx.state.guest(id)).toBeUndefined();

    const resized = { ...guest, flavor: bigger };
    await run(ctx, { type: 'finish_resize', instance_id: id, guest: resized, source_host: 'here', power_on: true });
    expect(driver.flavorOf(id)).toEqual(bigger);
    expect(ctx.state.guest(id)?.phase).toBe('built');

    await run(ctx, { type: 'revert_resize', instance_id: id, same_host: true });
    await run(ctx, { type: 'finish_revert_resize', instance_id: id, guest, power_on: true });
    expect(driver.flavorOf(id)).toEqual(guest.flavor);
    expect((await driver.getInfo(id)).power_state).toBe(PowerState.RUNNING);
    expect(await driver.hasMigrationCopy(id)).toBe(false);

    // Delivered again after the revert: the guest here is the original, it stays.
    await run(ctx, { type: 'revert_resize', instance_id: id, same_host: true });
    expect(driver.flavorOf(id)).toEqual(guest.flavor);
    expect(ctx.sink.reports.map((r) => (r as { step?: string }).step)).toEqual(['disk_ready', 'disk_ready', 'finished', 'dest_reverted', 'reverted', 'dest_reverted']);
  });

  it('refuses a smaller disk before touching the guest, and a driver without moves fails cleanly with the guest still running', async () => {
    const { ctx, driver, guest, id } = await withSpawnedGuest();
    await run(ctx, { type: 'resize_instance', instance_id: id, new_flavor: { ...guest.flavor, disk: guest.flavor.disk - 1 }, timeout_sec: 0 });
    expect(ctx.sink.reports[0]).toMatchObject({ type: 'migration', step: 'failed', command: 'resize_instance', reason: 'Resize error: Unable to resize disk down.', power_state: PowerState.RUNNING });
    expect((await driver.getInfo(id)).power_state).toBe(PowerState.RUNNING);

    class NoMoves extends FakeDriver {
      override migrateDiskAndPowerOff = BaseComputeDriver.prototype.migrateDiskAndPowerOff;
    }
    const other = await withSpawnedGuest(new NoMoves({ inventory: fakeInventory }));
    await run(other.ctx, { type: 'resize_instance', instance_id: other.id, new_flavor: bigger, timeout_sec: 0 });
    expect(other.ctx.sink.reports[0]).toMatchObject({ step: 'failed', reason: 'the fake driver does not support cold migration and resize', power_state: PowerState.RUNNING });
    await run(other.ctx, { type: 'finish_revert_resize', instance_id: other.id, guest: other.guest, power_on: true });
    expect(other.ctx.sink.reports[1]).toMatchObject({ step: 'reverted', power_state: PowerState.RUNNING });
  });
});
