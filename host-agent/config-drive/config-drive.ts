import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { GuestSpec } from '../../shared/messages/host.js';
import { nicPciAddress } from '../drivers/boot-nic-slots.js';

const run = promisify(execFile);

/** The tools that write ISO 9660 images, in the order tried: Nova uses genisoimage (mkisofs). */
export const ISO_TOOLS = ['genisoimage', 'mkisofs', 'xorrisofs'] as const;
export type IsoTool = (typeof ISO_TOOLS)[number];

/** The first ISO tool found on PATH, or undefined. */
export async function findIsoTool(): Promise<IsoTool | undefined> {
  for (const tool of ISO_TOOLS) {
    try {
      await run(tool, ['-version']);
      return tool;
    } catch (error) {
      // A tool that exists but dislikes -version still exists (ENOENT is the only "missing").
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return tool;
    }
  }
  return undefined;
}

/** Nova's metadata as the config drive carries it (nova/api/metadata/base.py, the OpenStack format). */
export function metaDataOf(spec: GuestSpec): Record<string, unknown> {
  const publicKeys = spec.key_name && spec.key_data ? { [spec.key_name]: spec.key_data } : {};
  return {
    uuid: spec.instance_id,
    name: spec.name,
    hostname: spec.hostname,
    project_id: spec.project_id,
    availability_zone: spec.availability_zone,
    launch_index: spec.launch_index,
    meta: spec.metadata,
    public_keys: publicKeys,
    keys: Object.entries(publicKeys).map(([name, data]) => ({ name, type: 'ssh', data })),
    random_seed: randomBytes(512).toString('base64'),
    devices: taggedDevicesOf(spec),
  };
}

/** Nova's device metadata: the NICs a boot tagged, with where the guest finds them. */
function taggedDevicesOf(spec: GuestSpec): Record<string, unknown>[] {
  return spec.nics.flatMap((nic, index) => {
    const address = nicPciAddress(index);
    return nic.tag && address ? [{ type: 'nic', bus: 'pci', address, mac: nic.mac_address, tags: [nic.tag] }] : [];
  });
}

/**
 * network_data.json as Nova writes it (nova/virt/netutils.py get_network_metadata): one link per
 * NIC (named by its tap, Nova's devname); one network per fixed IP, `networkN` in order, either
 * `ipv4_dhcp` (the subnet has DHCP: the guest asks for its address) or static `ipv4` with its
 * address, netmask, default route and DNS; the DNS servers of all subnets once more as services.
 * As in Nova a link's `mtu` is null when DHCP serves its network (DHCP option 26 carries it).
 */
export function networkDataOf(spec: GuestSpec): NetworkData {
  const data: NetworkData = { links: [], networks: [], services: [] };
  for (const nic of spec.nics) {
    const dhcp = nic.fixed_ips.some((ip) => ip.enable_dhcp);
    data.links.push({ id: nic.tap_name, vif_id: nic.port_id, type: 'bridge', mtu: dhcp ? null : nic.mtu, ethernet_mac_address: nic.mac_address });
    for (const ip of nic.fixed_ips) {
      const common = { id: `network${data.networks.length}`, link: nic.tap_name, network_id: nic.network_id };
      const dns = ip.dns_nameservers.map((address) => ({ type: 'dns' as const, address }));
      for (const service of dns) {
        if (!data.services.some((s) => s.address === service.address)) data.services.push(service);
      }
      if (ip.enable_dhcp) {
        data.networks.push({ ...common, type: 'ipv4_dhcp' });
        continue;
      }
      const routes = ip.gateway_ip ? [{ network: '0.0.0.0', netmask: '0.0.0.0', gateway: ip.gateway_ip }] : [];
      data.networks.push({ ...common, type: 'ipv4', ip_address: ip.ip_address, netmask: netmaskOf(ip.cidr), routes, services: dns });
    }
  }
  return data;
}

export interface NetworkData {
  links: { id: string; vif_id: string; type: 'bridge'; mtu: number | null; ethernet_mac_address: string }[];
  networks: (
    | { id: string; link: string; network_id: string; type: 'ipv4_dhcp' }
    | {
        id: string;
        link: string;
        network_id: string;
        type: 'ipv4';
        ip_address: string;
        netmask: string;
        routes: { network: string; netmask: string; gateway: string }[];
        services: { type: 'dns'; address: string }[];
      }
  )[];
  services: { type: 'dns'; address: string }[];
}

/** 10.0.0.0/24 → 255.255.255.0. */
export function netmaskOf(cidr: string): string {
  const prefix = Number(cidr.split('/')[1]);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (mask >>> shift) & 255).join('.');
}

/** The files of the drive, path inside the ISO → contents. user_data arrives base64-encoded (as in the API). */
export function configDriveFiles(spec: GuestSpec): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set('openstack/latest/meta_data.json', Buffer.from(JSON.stringify(metaDataOf(spec))));
  files.set('openstack/latest/network_data.json', Buffer.from(JSON.stringify(networkDataOf(spec))));
  files.set('openstack/latest/vendor_data.json', Buffer.from('{}'));
  if (spec.user_data !== null && spec.user_data !== '') files.set('openstack/latest/user_data', Buffer.from(spec.user_data, 'base64'));
  return files;
}

/**
 * Writes the config drive of a guest to `isoPath`: ISO 9660 with Rock Ridge and Joliet, volume
 * label `config-2`, as cloud-init's ConfigDrive data source expects.
 */
export async function writeConfigDrive(spec: GuestSpec, isoPath: string, tool?: IsoTool): Promise<void> {
  const isoTool = tool ?? (await findIsoTool());
  if (!isoTool) throw new Error(`no ISO 9660 tool found to build the config drive (install one of ${ISO_TOOLS.join(', ')})`);
  const staging = await mkdtemp(join(dirname(isoPath), '.config-drive-'));
  try {
    for (const [path, contents] of configDriveFiles(spec)) {
      await mkdir(dirname(join(staging, path)), { recursive: true });
      await writeFile(join(staging, path), contents);
    }
    await run(isoTool, ['-o', isoPath, '-V', 'config-2', '-r', '-J', '-l', '-ldots', '-allow-lowercase', '-allow-multidot', '-quiet', '-publisher', 'novaless', staging]);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
