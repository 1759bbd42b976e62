import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findIsoTool, metaDataOf, netmaskOf, networkDataOf, writeConfigDrive } from '../../../../host-agent/config-drive/config-drive.js';
import { nicArgs } from '../../../../host-agent/drivers/qemu/qemu-process.js';
import type { GuestNic } from '../../../../shared/messages/host.js';
import { guestSpec, tempDir } from '../support.js';

const isoFile = (iso: string, path: string) => execFileSync('isoinfo', ['-R', '-i', iso, '-x', path]).toString();

describe('config drive', () => {
  it('is an ISO 9660 labelled config-2 with the OpenStack metadata, user data and network data', async () => {
    expect(await findIsoTool()).toBeDefined();
    const spec = guestSpec({
      name: 'web 1',
      hostname: 'web-1',
      project_id: 'proj-1',
      key_name: 'mykey',
      key_data: 'ssh-ed25519 AAAAC3Nza test@example',
      metadata: { role: 'web' },
      availability_zone: 'az-1',
      launch_index: 2,
      user_data: Buffer.from('#!/bin/sh\necho hello from user data\n').toString('base64'),
    });
    const iso = join(await tempDir('config-drive-'), 'disk.config.iso');
    const started = Date.now();
    await writeConfigDrive(spec, iso);
    const tookMs = Date.now() - started;

    expect(execFileSync('isoinfo', ['-d', '-i', iso]).toString()).toMatch(/Volume id: config-2/);
    const meta = JSON.parse(isoFile(iso, '/openstack/latest/meta_data.json'));
    expect(meta).toMatchObject({
      uuid: spec.instance_id,
      name: 'web 1',
      hostname: 'web-1',
      project_id: 'proj-1',
      availability_zone: 'az-1',
      launch_index: 2,
      meta: { role: 'web' },
      public_keys: { mykey: 'ssh-ed25519 AAAAC3Nza test@example' },
      keys: [{ name: 'mykey', type: 'ssh', data: 'ssh-ed25519 AAAAC3Nza test@example' }],
    });
    expect(isoFile(iso, '/openstack/latest/user_data')).toBe('#!/bin/sh\necho hello from user data\n');
    expect(JSON.parse(isoFile(iso, '/openstack/latest/network_data.json'))).toEqual({ links: [], networks: [], services: [] });
    // The plain ISO 9660 names carry the same (lower-case, as Nova's genisoimage flags make them).
    expect(JSON.parse(execFileSync('isoinfo', ['-i', iso, '-x', '/openstack/latest/meta_data.json;1']).toString())).toMatchObject({ uuid: spec.instance_id });
    expect(tookMs).toBeLessThan(2000);
  });

  it('has no user_data file and empty keys when none were given', async () => {
    const spec = guestSpec({ user_data: null, key_name: null, key_data: null });
    const iso = join(await tempDir('config-drive-'), 'disk.config.iso');
    await writeConfigDrive(spec, iso);
    const listing = execFileSync('isoinfo', ['-R', '-f', '-i', iso]).toString();
    expect(listing).toContain('/openstack/latest/meta_data.json');
    expect(listing).not.toContain('user_data');
    expect(JSON.parse(isoFile(iso, '/openstack/latest/meta_data.json')).public_keys).toEqual({});
  });

  it('carries the NICs in network_data.json, in the drive', async () => {
    const spec = guestSpec({ nics: [dhcpNic] });
    const iso = join(await tempDir('config-drive-'), 'disk.config.iso');
    await writeConfigDrive(spec, iso);
    expect(JSON.parse(isoFile(iso, '/openstack/latest/network_data.json'))).toEqual(networkDataOf(spec));
  });
});

const dhcpNic: GuestNic = {
  port_id: 'a1000000-0000-4000-8000-000000000001',
  network_id: '1e000000-0000-4000-8000-000000000001',
  mac_address: 'fa:16:3e:00:00:01',
  mtu: 1450,
  tap_name: 'tapa1000000-00',
  fixed_ips: [{ ip_address: '10.0.0.5', cidr: '10.0.0.0/24', gateway_ip: '10.0.0.1', enable_dhcp: true, dns_nameservers: ['10.0.0.2'] }],
};
const staticNic: GuestNic = {
  port_id: 'a2000000-0000-4000-8000-000000000002',
  network_id: '1f000000-0000-4000-8000-000000000002',
  mac_address: 'fa:16:3e:00:00:02',
  mtu: 1400,
  tap_name: 'tapa2000000-00',
  fixed_ips: [
    { ip_address: '172.16.5.9', cidr: '172.16.0.0/20', gateway_ip: '172.16.0.1', enable_dhcp: false, dns_nameservers: ['10.0.0.2', '9.9.9.9'] },
    { ip_address: '192.168.9.4', cidr: '192.168.9.0/24', gateway_ip: null, enable_dhcp: false, dns_nameservers: [] },
  ],
};

describe("meta_data.json's devices (Nova's device metadata)", () => {
  it('lists the tagged NICs with the PCI address QEMU gives them', () => {
    const devices = metaDataOf(guestSpec({ nics: [dhcpNic, { ...staticNic, tag: 'backend' }] })).devices;
    expect(devices).toEqual([{ type: 'nic', bus: 'pci', address: '0000:00:11.0', mac: 'fa:16:3e:00:00:02', tags: ['backend'] }]);
    expect(nicArgs([dhcpNic, staticNic]).at(-1)).toContain(',addr=0x11');
  });
});

describe('network_data.json (Nova\'s format, nova/virt/netutils.py)', () => {
  it('is empty for a guest without NICs', () => {
    expect(networkDataOf(guestSpec({ nics: [] }))).toEqual({ links: [], networks: [], services: [] });
  });

  it('has a link per NIC named by its tap, and a network per fixed IP: DHCP, or static with its netmask, default route and DNS', () => {
    expect(networkDataOf(guestSpec({ nics: [dhcpNic, staticNic] }))).toEqual({
      links: [
        // As in Nova, no MTU where DHCP serves the network (option 26 carries it).
        { id: 'tapa1000000-00', vif_id: dhcpNic.port_id, type: 'bridge', mtu: null, ethernet_mac_address: 'fa:16:3e:00:00:01' },
        { id: 'tapa2000000-00', vif_id: staticNic.port_id, type: 'bridge', mtu: 1400, ethernet_mac_address: 'fa:16:3e:00:00:02' },
      ],
      networks: [
        { id: 'network0', type: 'ipv4_dhcp', link: 'tapa1000000-00', network_id: dhcpNic.network_id },
        {
          id: 'network1',
          type: 'ipv4',
          link: 'tapa2000000-00',
          network_id: staticNic.network_id,
          ip_address: '172.16.5.9',
          netmask: '255.255.240.0',
          routes: [{ network: '0.0.0.0', netmask: '0.0.0.0', gateway: '172.16.0.1' }],
          services: [
            { type: 'dns', address: '10.0.0.2' },
            { type: 'dns', address: '9.9.9.9' },
          ],
        },
        { id: 'network2', type: 'ipv4', link: 'tapa2000000-00', network_id: staticNic.network_id, ip_address: '192.168.9.4', netmask: '255.255.255.0', routes: [], services: [] },
      ],
      services: [
        { type: 'dns', address: '10.0.0.2' },
        { type: 'dns', address: '9.9.9.9' },
      ],
    });
  });

  it('turns prefix lengths into netmasks', () => {
    expect(['0.0.0.0/0', '10.0.0.0/8', '10.0.0.0/23', '10.0.0.1/32'].map(netmaskOf)).toEqual(['0.0.0.0', '255.0.0.0', '255.255.254.0', '255.255.255.255']);
    expect(() => netmaskOf('10.0.0.0')).toThrow(/not an IPv4 CIDR/);
  });
});
