import { describe, expect, it } from 'vitest';
import { handleAttachInterface, handleDetachInterface } from '../../../host-agent/commands/attach-interface.js';
import { dispatchCommand } from '../../../host-agent/commands/dispatch.js';
import { handleSpawn } from '../../../host-agent/commands/spawn.js';
import { FakeDriver } from '../../../host-agent/drivers/fake.js';
import { HostCommandSchema, type GuestNic } from '../../../shared/messages/host.js';
import { commandContext, fakeInventory, guestSpec } from './support.js';

const nic = (n: number): GuestNic => ({
  port_id: `c${n}000000-0000-4000-8000-000000000001`,
  network_id: '1e000000-0000-4000-8000-00000000000c',
  mac_address: `fa:16:3e:00:0c:0${n}`,
  mtu: 1450,
  tap_name: `tapc${n}000000-00`,
  fixed_ips: [],
});

describe('attach_interface / detach_interface on the host (fake driver)', () => {
  it('plugs and unplugs the NIC, idempotently, and reports nothing', async () => {
    const driver = new FakeDriver({ inventory: fakeInventory });
    const ctx = await commandContext({ driver });
    const guest = guestSpec({ nics: [nic(1)] });
    const id = guest.instance_id;
    await handleSpawn({ type: 'spawn', request_id: 'req-spawn', guest }, ctx);
    const reports = ctx.sink.reports.length;

    const attach = HostCommandSchema.parse({ type: 'attach_interface', request_id: 'req-a', instance_id: id, nic: nic(2) });
    await dispatchCommand(attach, ctx);
    await dispatchCommand(attach, ctx);
    expect(driver.nicsOf(id).map((n) => n.port_id)).toEqual([nic(1).port_id, nic(2).port_id]);

    const detach = HostCommandSchema.parse({ type: 'detach_interface', request_id: 'req-d', instance_id: id, port_id: nic(1).port_id });
    await dispatchCommand(detach, ctx);
    await dispatchCommand(detach, ctx);
    expect(driver.nicsOf(id).map((n) => n.port_id)).toEqual([nic(2).port_id]);
    expect(await driver.getConsoleOutput(id)).toMatch(/attached interface tapc2000000-00[\s\S]*detached interface of port c1000000/);
    expect(ctx.sink.reports.length).toBe(reports);
  });

  it('leaves an unknown guest alone and survives a driver failure', async () => {
    const ctx = await commandContext();
    await expect(handleAttachInterface({ type: 'attach_interface', request_id: 'r', instance_id: guestSpec().instance_id, nic: nic(1) }, ctx)).resolves.toBeUndefined();
    await expect(handleDetachInterface({ type: 'detach_interface', request_id: 'r', instance_id: guestSpec().instance_id, port_id: nic(1).port_id }, ctx)).resolves.toBeUndefined();
  });
});
