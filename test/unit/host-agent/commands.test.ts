import { describe, expect, it } from 'vitest';
import { PowerState } from '../../../shared/domain/instance-states.js';
import type { GuestSpec } from '../../../shared/messages/host.js';
import { handleDestroy } from '../../../host-agent/commands/destroy.js';
import { handleSpawn } from '../../../host-agent/commands/spawn.js';
import { FakeDriver, type FakeDriverOptions } from '../../../host-agent/drivers/fake.js';
import { commandContext, fakeInventory, guestSpec, tempDir, type TestContext } from './support.js';

/** The fake driver, counting the builds it really does and how many overlap. */
class CountingDriver extends FakeDriver {
  builds = 0;
  running = 0;
  maxRunning = 0;
  constructor(options: Partial<FakeDriverOptions> = {}, private readonly failWith?: string) {
    super({ inventory: fakeInventory, ...options });
  }
  override async spawn(spec: GuestSpec) {
    this.builds++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.failWith) throw new Error(this.failWith);
      return await super.spawn(spec);
    } finally {
      this.running--;
    }
  }
}

const spawn = (ctx: TestContext, guest: GuestSpec, request_id = 'req-spawn') => handleSpawn({ type: 'spawn', request_id, guest }, ctx);
const destroy = (ctx: TestContext, instance_id: string, request_id = 'req-delete') => handleDestroy({ type: 'destroy', request_id, instance_id }, ctx);
const types = (ctx: TestContext) => ctx.sink.reports.map((r) => r.type);

describe('spawn and destroy commands', () => {
  it('spawns a guest, records it and reports spawned', async () => {
    const ctx = await commandContext();
    const guest = guestSpec();
    await spawn(ctx, guest);
    expect(ctx.sink.reports).toEqual([
      expect.objectContaining({ type: 'spawned', host: 'compute-1', request_id: 'req-spawn', instance_id: guest.instance_id, power_state: PowerState.RUNNING }),
    ]);
    expect(ctx.state.guest(guest.instance_id)).toMatchObject({ phase: 'built', power_state: PowerState.RUNNING });
    expect(await ctx.driver.listGuests()).toHaveLength(1);
  });

  it('does not build a guest twice when the spawn comes twice: it reports spawned again', async () => {
    const driver = new CountingDriver();
    const ctx = await commandContext({ driver });
    const guest = guestSpec();
    await spawn(ctx, guest);
    await spawn(ctx, guest);
    expect(driver.builds).toBe(1);
    expect(types(ctx)).toEqual(['spawned', 'spawned']);
  });

  it('builds once when the same spawn arrives twice at the same time', async () => {
    const driver = new CountingDriver({ spawnDelayMs: 50 });
    const ctx = await commandContext({ driver });
    const guest = guestSpec();
    await Promise.all([spawn(ctx, guest), spawn(ctx, guest)]);
    expect(driver.builds).toBe(1);
    expect(types(ctx)).toEqual(['spawned', 'spawned']);
  });

  it('does not rebuild a guest after an agent restart', async () => {
    const dir = await tempDir();
    const guest = guestSpec();
    const before = await commandContext({ dir });
    await spawn(before, guest);

    const driver = new CountingDriver();
    const after = await commandContext({ dir, driver });
    expect(await driver.listGuests()).toEqual([{ instance_id: guest.instance_id, power_state: PowerState.RUNNING }]);
    await spawn(after, guest);
    expect(driver.builds).toBe(0);
    expect(types(after)).toEqual(['spawned']);
  });

  it('builds again a guest whose build a crash interrupted, once', async () => {
    const dir = await tempDir();
    const guest = guestSpec();
    const crashed = await commandContext({ dir });
    const now = new Date().toISOString();
    await crashed.state.putGuest({ instance_id: guest.instance_id, request_id: 'req-spawn', phase: 'building', power_state: PowerState.NOSTATE, spec: guest, created_at: now, updated_at: now });

    const driver = new CountingDriver();
    const restarted = await commandContext({ dir, driver });
    await spawn(restarted, guest);
    await spawn(restarted, guest);
    expect(driver.builds).toBe(1);
    expect(types(restarted)).toEqual(['spawned', 'spawned']);
    expect(restarted.state.guest(guest.instance_id)?.phase).toBe('built');
  });

  it('reports spawn_failed with the reason, keeps no guest, and says the same when the spawn comes again', async () => {
    const driver = new CountingDriver({}, 'image 1234 is not in the image cache');
    const ctx = await commandContext({ driver });
    const guest = guestSpec();
    await spawn(ctx, guest);
    await spawn(ctx, guest);
    expect(driver.builds).toBe(1);
    expect(ctx.sink.ofType('spawn_failed')).toEqual([
      expect.objectContaining({ instance_id: guest.instance_id, reason: 'image 1234 is not in the image cache' }),
      expect.objectContaining({ instance_id: guest.instance_id, reason: 'image 1234 is not in the image cache' }),
    ]);
    expect(ctx.state.guest(guest.instance_id)).toBeUndefined();
    expect(await driver.listGuests()).toEqual([]);
  });

  it('destroys a guest and reports destroyed, also when the destroy comes twice', async () => {
    const ctx = await commandContext();
    const guest = guestSpec();
    await spawn(ctx, guest);
    await destroy(ctx, guest.instance_id);
    await destroy(ctx, guest.instance_id);
    expect(types(ctx)).toEqual(['spawned', 'destroyed', 'destroyed']);
    expect(ctx.sink.ofType('destroyed')[0]).toMatchObject({ request_id: 'req-delete', instance_id: guest.instance_id });
    expect(await ctx.driver.listGuests()).toEqual([]);
    expect(ctx.state.guest(guest.instance_id)).toBeUndefined();
  });

  it('reports destroyed for a guest it never had', async () => {
    const ctx = await commandContext();
    const id = guestSpec().instance_id;
    await destroy(ctx, id);
    expect(ctx.sink.reports).toEqual([expect.objectContaining({ type: 'destroyed', instance_id: id })]);
  });

  it('does not build a guest whose destroy arrived first', async () => {
    const driver = new CountingDriver();
    const ctx = await commandContext({ driver });
    const guest = guestSpec();
    await destroy(ctx, guest.instance_id);
    await spawn(ctx, guest);
    expect(driver.builds).toBe(0);
    expect(types(ctx)).toEqual(['destroyed', 'destroyed']);
  });

  it('lets a destroy wait for the build in progress, then destroys the guest', async () => {
    const ctx = await commandContext({ driver: new FakeDriver({ inventory: fakeInventory, spawnDelayMs: 80 }) });
    const guest = guestSpec();
    await Promise.all([spawn(ctx, guest), destroy(ctx, guest.instance_id)]);
    expect(types(ctx)).toEqual(['spawned', 'destroyed']);
    expect(await ctx.driver.listGuests()).toEqual([]);
  });

  it('finishes a destroy a crash interrupted instead of spawning', async () => {
    const dir = await tempDir();
    const guest = guestSpec();
    const crashed = await commandContext({ dir });
    await spawn(crashed, guest);
    await crashed.state.updateGuest(guest.instance_id, { phase: 'deleting' });

    const restarted = await commandContext({ dir });
    await spawn(restarted, guest);
    expect(types(restarted)).toEqual(['destroyed']);
    expect(await restarted.driver.listGuests()).toEqual([]);
  });

  it('runs at most max_parallel_builds builds at once', async () => {
    const driver = new CountingDriver({ spawnDelayMs: 40 });
    const ctx = await commandContext({ driver, maxBuilds: 2 });
    await Promise.all(Array.from({ length: 6 }, () => spawn(ctx, guestSpec())));
    expect(driver.builds).toBe(6);
    expect(driver.maxRunning).toBe(2);
    expect(ctx.sink.ofType('spawned')).toHaveLength(6);
  });
});
