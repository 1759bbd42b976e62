import { describe, expect, it } from 'vitest';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { HostCommandSchema } from '../../../shared/messages/host.js';
import { dispatchCommand } from '../../../host-agent/commands/dispatch.js';
import { commandContext, withSpawnedGuest, type TestContext } from './support.js';

const rescueImage = { id: 'b5e7f9f5-d6d7-49f8-9e53-02debee4f53b', disk_format: 'qcow2', size: null, virtual_size: null, os_hash_algo: null, os_hash_value: null };
const rescue = (ctx: TestContext, instance_id: string, request_id = 'req-rescue') =>
  dispatchCommand(HostCommandSchema.parse({ type: 'rescue', request_id, instance_id, rescue_image: rescueImage, timeout_sec: 0 }), ctx);
const unrescue = (ctx: TestContext, instance_id: string, request_id = 'req-unrescue') =>
  dispatchCommand(HostCommandSchema.parse({ type: 'unrescue', request_id, instance_id }), ctx);

describe('rescue and unrescue on the host', () => {
  it('rescues on the rescue image (running), once per request, and unrescues (running)', async () => {
    const { ctx, driver, id } = await withSpawnedGuest();
    await rescue(ctx, id);
    expect(driver.rescueImageOf(id)).toBe(rescueImage.id);
    await rescue(ctx, id); // delivered twice
    expect((await driver.getConsoleOutput(id)).match(/rescued: booted rescue image/g)).toHaveLength(1);
    await unrescue(ctx, id);
    expect(driver.rescueImageOf(id)).toBeUndefined();
    expect(ctx.sink.reports).toEqual([
      expect.objectContaining({ type: 'action_done', action: 'rescue', request_id: 'req-rescue', power_state: PowerState.RUNNING }),
      expect.objectContaining({ type: 'action_done', action: 'rescue', request_id: 'req-rescue', power_state: PowerState.RUNNING }),
      expect.objectContaining({ type: 'action_done', action: 'unrescue', request_id: 'req-unrescue', power_state: PowerState.RUNNING }),
    ]);
  });

  it('a stopped guest is rescued running; a guest this host lacks is an action_failed', async () => {
    const { ctx, driver, id } = await withSpawnedGuest();
    await driver.powerOff(id, 0);
    await rescue(ctx, id);
    expect((await driver.getInfo(id)).power_state).toBe(PowerState.RUNNING);

    const missing = await commandContext();
    await rescue(missing, '00000000-0000-4000-8000-000000000001');
    expect(missing.sink.ofType('action_failed')[0]).toMatchObject({ action: 'rescue', reason: expect.stringContaining('not found on this host') });
  });
});
