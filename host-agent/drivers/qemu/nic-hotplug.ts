import { setTimeout as sleep } from 'node:timers/promises';
import type { GuestNic } from '../../../shared/messages/host.js';
import { nicIds } from './qemu-process.js';
import { QmpCommandError, type QmpClient } from './qmp-client.js';

/**
 * Hot-plug of a guest's NICs over QMP, as libvirt does it for Nova's attach_interface: the port's
 * tap as a netdev, then a virtio-net-pci device on it (the guest sees an ACPI PCI hot-plug);
 * unplugging asks the guest to eject the device, waits until QEMU removed it, then drops the
 * netdev. The ids are the ones a NIC started with the guest has (nicIds), so both kinds are alike.
 */

/** Whether the guest has a device with this id (a NIC plugged at start or later). */
export async function hasDevice(qmp: QmpClient, id: string): Promise<boolean> {
  const children = await qmp.execute<{ name: string; type: string }[]>('qom-list', { path: '/machine/peripheral' });
  return children.some((c) => c.name === id);
}

/** Plugs the NIC; one the guest has already is left as it is. */
export async function plugNic(qmp: QmpClient, nic: GuestNic): Promise<void> {
  const ids = nicIds(nic.port_id);
  if (await hasDevice(qmp, ids.device)) return;
  // A netdev left by an attempt that stopped before its device: made again, on the tap as it is now.
  await dropNetdev(qmp, ids.netdev);
  await qmp.execute('netdev_add', { type: 'tap', id: ids.netdev, ifname: nic.tap_name, script: 'no', downscript: 'no', vhost: false });
  try {
    await qmp.execute('device_add', { driver: 'virtio-net-pci', id: ids.device, netdev: ids.netdev, mac: nic.mac_address, host_mtu: nic.mtu });
  } catch (error) {
    await dropNetdev(qmp, ids.netdev);
    throw error;
  }
}

/**
 * Unplugs the port's NIC: `device_del`, then the DEVICE_DELETED event (or, if it went unseen,
 * the device gone from the tree) within timeoutMs, then `netdev_del`. A guest that never ejects
 * the device (one still booting, a paused one) fails it; its NIC goes at its next start.
 */
export async function unplugNic(qmp: QmpClient, portId: string, timeoutMs: number): Promise<void> {
  const ids = nicIds(portId);
  if (await hasDevice(qmp, ids.device)) {
    const deleted = qmp.waitForEvent('DEVICE_DELETED', timeoutMs, (e) => e.data?.device === ids.device).then(
      () => true,
      () => false,
    );
    await qmp.execute('device_del', { id: ids.device });
    if (!(await deleted)) {
      // The event may have come between the check and the wait, or on another connection: look.
      const deadline = Date.now() + 1000;
      while (await hasDevice(qmp, ids.device)) {
        if (Date.now() > deadline) throw new Error(`the guest did not release NIC ${ids.device} within ${timeoutMs} ms`);
        await sleep(200);
      }
    }
  }
  await dropNetdev(qmp, ids.netdev);
}

/** Removes a netdev; one that is not there is removed already. */
async function dropNetdev(qmp: QmpClient, id: string): Promise<void> {
  try {
    await qmp.execute('netdev_del', { id });
  } catch (error) {
    if (!(error instanceof QmpCommandError && error.errorClass === 'DeviceNotFound')) throw error;
  }
}
