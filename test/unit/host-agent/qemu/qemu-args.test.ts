import { describe, expect, it } from 'vitest';
import { instancePaths } from '../../../../host-agent/drivers/qemu/instance-dir.js';
import { nicArgs, qemuArgs } from '../../../../host-agent/drivers/qemu/qemu-process.js';
import type { GuestNic } from '../../../../shared/messages/host.js';

const nic = (n: number): GuestNic => ({
  port_id: `a${n}000000-0000-4000-8000-000000000001`,
  network_id: '1e000000-0000-4000-8000-000000000001',
  mac_address: `fa:16:3e:00:00:0${n}`,
  mtu: 1450,
  tap_name: `tapa${n}000000-00`,
  fixed_ips: [],
});

const argsWith = (nics: GuestNic[]) =>
  qemuArgs({ instanceId: '6f1c0a52-1111-4e2e-9c3d-abcdef012345', paths: instancePaths('/x/instances', '6f1c0a52-1111-4e2e-9c3d-abcdef012345'), vcpus: 1, memoryMb: 128, virtType: 'qemu', nics });

describe('QEMU NIC arguments', () => {
  it('has no NIC at all without ports', () => {
    expect(nicArgs([])).toEqual(['-nic', 'none']);
    expect(argsWith([]).join(' ')).toContain('-nic none');
  });

  it('opens each port’s tap, in order, as a virtio-net NIC with the port’s MAC and the network’s MTU, named after the port (as a hot-plugged one)', () => {
    expect(nicArgs([nic(1), nic(2)])).toEqual([
      '-netdev', 'tap,id=net-a1000000-00,ifname=tapa1000000-00,script=no,downscript=no,vhost=off',
      '-device', 'virtio-net-pci,id=nic-a1000000-00,netdev=net-a1000000-00,mac=fa:16:3e:00:00:01,host_mtu=1450,addr=0x10',
      '-netdev', 'tap,id=net-a2000000-00,ifname=tapa2000000-00,script=no,downscript=no,vhost=off',
      '-device', 'virtio-net-pci,id=nic-a2000000-00,netdev=net-a2000000-00,mac=fa:16:3e:00:00:02,host_mtu=1450,addr=0x11',
    ]);
    const args = argsWith([nic(1)]);
    expect(args).not.toContain('-nic');
    // The NICs come before -daemonize and the (optional) -incoming, like every other device.
    expect(args.indexOf('-netdev')).toBeLessThan(args.indexOf('-daemonize'));
  });
});

describe('QEMU disk arguments', () => {
  const id = '6f1c0a52-1111-4e2e-9c3d-abcdef012345';
  const paths = instancePaths('/x/instances', id);
  const drives = (rescueDisk?: string) =>
    qemuArgs({ instanceId: id, paths, vcpus: 1, memoryMb: 128, virtType: 'qemu', rescueDisk }).filter((a) => a.startsWith('file=') || a.startsWith('virtio-blk'));

  it('in rescue, boots the rescue disk (vda) with the root disk second (vdb), as Nova rescues', () => {
    expect(drives()).toEqual([`file=${paths.disk},format=qcow2,if=virtio,discard=unmap`, `file=${paths.configDrive},format=raw,if=ide,media=cdrom,readonly=on`]);
    expect(drives('/x/instances/r.qcow2')).toEqual([
      'file=/x/instances/r.qcow2,format=qcow2,if=none,id=rescue-disk,discard=unmap',
      'virtio-blk-pci,drive=rescue-disk,bootindex=0',
      `file=${paths.disk},format=qcow2,if=none,id=root-disk,discard=unmap`,
      'virtio-blk-pci,drive=root-disk,bootindex=1',
      `file=${paths.configDrive},format=raw,if=ide,media=cdrom,readonly=on`,
    ]);
  });
});
