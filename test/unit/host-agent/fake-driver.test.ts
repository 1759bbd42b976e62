import { describe, expect, it } from 'vitest';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { GuestNotFound, InvalidGuestState, NotSupportedByDriver, BaseComputeDriver } from '../../../host-agent/drivers/driver.js';
import { FakeDriver } from '../../../host-agent/drivers/fake.js';
import { fakeInventory, guestSpec } from './support.js';

async function driverWithGuest() {
  const driver = new FakeDriver({ inventory: fakeInventory });
  await driver.init([]);
  const spec = guestSpec();
  await driver.spawn(spec);
  return { driver, id: spec.instance_id, spec };
}

describe('fake driver', () => {
  it('offers the configured inventory', async () => {
    const driver = new FakeDriver({ inventory: { vcpus: 3, memory_mb: 1024, disk_gb: 7 } });
    expect(await driver.getInventory()).toMatchObject({ vcpus: 3, memory_mb: 1024, disk_gb: 7, virt_type: 'fake' });
  });

  it('spawns a running guest and lists it', async () => {
    const { driver, id } = await driverWithGuest();
    expect(await driver.listGuests()).toEqual([{ instance_id: id, power_state: PowerState.RUNNING }]);
    expect(await driver.getInfo(id)).toEqual({ instance_id: id, power_state: PowerState.RUNNING });
  });

  it('does not create a second guest when spawned twice', async () => {
    const { driver, spec } = await driverWithGuest();
    await driver.spawn(spec);
    expect(await driver.listGuests()).toHaveLength(1);
  });

  it('takes the configured spawn delay', async () => {
    const driver = new FakeDriver({ inventory: fakeInventory, spawnDelayMs: 150 });
    const started = Date.now();
    await driver.spawn(guestSpec());
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('destroys guests, and destroying an unknown guest is not an error', async () => {
    const { driver, id } = await driverWithGuest();
    await driver.destroy(id);
    await driver.destroy(id);
    expect(await driver.listGuests()).toEqual([]);
    await expect(driver.getInfo(id)).rejects.toBeInstanceOf(GuestNotFound);
  });

  it('moves through power states like a hypervisor', async () => {
    const { driver, id } = await driverWithGuest();
    const state = async () => (await driver.getInfo(id)).power_state;

    await driver.pause(id);
    expect(await state()).toBe(PowerState.PAUSED);
    await driver.unpause(id);
    expect(await state()).toBe(PowerState.RUNNING);
    await driver.suspend(id);
    expect(await state()).toBe(PowerState.SUSPENDED);
    await driver.resume(id);
    expect(await state()).toBe(PowerState.RUNNING);
    await driver.powerOff(id, 60);
    expect(await state()).toBe(PowerState.SHUTDOWN);
    await driver.powerOn(id);
    expect(await state()).toBe(PowerState.RUNNING);
    await driver.reboot(id, 'SOFT');
    expect(await state()).toBe(PowerState.RUNNING);
    await driver.pause(id);
    await driver.reboot(id, 'HARD');
    expect(await state()).toBe(PowerState.RUNNING);
  });

  it('refuses transitions a hypervisor would refuse', async () => {
    const { driver, id } = await driverWithGuest();
    await driver.powerOff(id, 0);
    await expect(driver.pause(id)).rejects.toBeInstanceOf(InvalidGuestState);
    await expect(driver.reboot(id, 'SOFT')).rejects.toBeInstanceOf(InvalidGuestState);
    await expect(driver.resume(id)).rejects.toBeInstanceOf(InvalidGuestState);
    await expect(driver.unpause(id)).rejects.toBeInstanceOf(InvalidGuestState);
  });

  it('raises GuestNotFound for every operation on an unknown guest', async () => {
    const driver = new FakeDriver({ inventory: fakeInventory });
    const id = guestSpec().instance_id;
    for (const call of [() => driver.pause(id), () => driver.powerOn(id), () => driver.getConsoleOutput(id), () => driver.snapshot(id, 'img')]) {
      await expect(call()).rejects.toBeInstanceOf(GuestNotFound);
    }
  });

  it('keeps a console log and returns its last lines', async () => {
    const { driver, id } = await driverWithGuest();
    await driver.pause(id);
    await driver.unpause(id);
    const all = await driver.getConsoleOutput(id);
    expect(all.split('\n').filter(Boolean)).toHaveLength(4);
    expect(await driver.getConsoleOutput(id, 2)).toBe('fake: paused\nfake: unpaused\n');
  });

  it('snapshots a guest as an empty raw image', async () => {
    const { driver, id } = await driverWithGuest();
    const snapshot = await driver.snapshot(id, 'image-1');
    expect(snapshot).toMatchObject({ disk_format: 'raw', size_bytes: 0 });
    const chunks = [];
    for await (const chunk of snapshot.open()) chunks.push(chunk);
    expect(chunks).toEqual([]);
  });

  it('comes back after a restart with the finished guests it is given', async () => {
    const driver = new FakeDriver({ inventory: fakeInventory });
    const built = guestSpec();
    const unfinished = guestSpec();
    await driver.init([
      { instance_id: built.instance_id, spec: built, power_state: PowerState.PAUSED, built: true },
      { instance_id: unfinished.instance_id, spec: unfinished, power_state: PowerState.NOSTATE, built: false },
    ]);
    expect(await driver.listGuests()).toEqual([{ instance_id: built.instance_id, power_state: PowerState.PAUSED }]);
  });

  it('leaves the optional operations of a driver raising NotSupportedByDriver', async () => {
    class MinimalDriver extends BaseComputeDriver {
      readonly name = 'minimal';
      init = async () => undefined;
      getInventory = async () => ({ ...fakeInventory, hypervisor_type: 'x', hypervisor_version: 1, virt_type: 'x' });
      listGuests = async () => [];
      getInfo = async (id: string) => ({ instance_id: id, power_state: PowerState.RUNNING });
      spawn = async () => ({ power_state: PowerState.RUNNING, addresses: {} });
      destroy = async () => undefined;
    }
    const error = await new MinimalDriver().pause('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotSupportedByDriver);
    expect(error).toMatchObject({ driver: 'minimal', operation: 'pause' });
  });
});
