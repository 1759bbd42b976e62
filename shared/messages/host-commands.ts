import { getHost } from '../store/hosts.js';
import { getNetwork } from '../store/network/networks.js';
import { listDevicePorts } from '../store/network/ports.js';
import { getSubnet } from '../store/network/subnets.js';
import { sendMessage } from './send.js';
import type { Instance } from '../domain/instance.js';
import type { Subnet } from '../domain/network/subnet.js';
import { HostCommandSchema, type GuestNic, type HostCommand } from './host.js';

/** The spawn command for an instance: everything the agent needs, copied from the record and its ports. */
export async function spawnCommandFor(i: Instance, requestId: string): Promise<Extract<HostCommand, { type: 'spawn' }>> {
  return {
    type: 'spawn',
    request_id: requestId,
    guest: {
      instance_id: i.id,
      name: i.name,
      hostname: i.hostname,
      project_id: i.project_id,
      // An unshelve spawns from the image its disk was shelved to.
      image_id: i.shelved?.image_id ?? i.image_ref,
      image: i.shelved?.image_meta ?? i.image_meta,
      flavor: i.flavor,
      key_name: i.key_name,
      key_data: i.key_data,
      metadata: i.metadata,
      user_data: i.user_data,
      config_drive: i.config_drive,
      availability_zone: i.availability_zone,
      launch_index: i.launch_index,
      nics: (await guestNicsOf(i.id)).map((nic) => ({ ...nic, tag: i.device_tags[nic.port_id] })),
    },
    ...(i.shelved?.unshelving_since ? { unshelving_since: i.shelved.unshelving_since } : {}),
  };
}

/** Nova's tap device name for a port (nova.network.model.VIF's devname). */
export const tapNameOf = (portId: string) => `tap${portId.slice(0, 11)}`;

/** The server's NICs from its ports, in the order they were made (eth0 first). */
export async function guestNicsOf(instanceId: string): Promise<GuestNic[]> {
  const ports = (await listDevicePorts(instanceId)).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  const subnets = new Map<string, Subnet | undefined>();
  const subnetOf = async (id: string) => {
    if (!subnets.has(id)) subnets.set(id, await getSubnet(id));
    return subnets.get(id);
  };
  const nics: GuestNic[] = [];
  for (const port of ports) {
    const network = await getNetwork(port.network_id);
    if (!network) continue;
    const fixedIps: GuestNic['fixed_ips'] = [];
    for (const ip of port.fixed_ips) {
      const subnet = await subnetOf(ip.subnet_id);
      if (!subnet) continue;
      fixedIps.push({ ip_address: ip.ip_address, cidr: subnet.cidr, gateway_ip: subnet.gateway_ip, enable_dhcp: subnet.enable_dhcp, dns_nameservers: subnet.dns_nameservers });
    }
    nics.push({ port_id: port.id, network_id: port.network_id, mac_address: port.mac_address, mtu: network.mtu, tap_name: tapNameOf(port.id), fixed_ips: fixedIps });
  }
  return nics;
}

/** Sends a command to a host's queue; false when the host is not registered (there is no queue to send to). */
export async function sendHostCommand(hostName: string, command: HostCommand): Promise<boolean> {
  const host = await getHost(hostName);
  if (!host) return false;
  await sendMessage(host.queue_url, HostCommandSchema, command);
  return true;
}

/** Tells a host to destroy a guest (idempotent on the agent's side). */
export async function sendDestroy(hostName: string, instanceId: string, requestId = 'req-conductor'): Promise<void> {
  const host = await getHost(hostName);
  if (!host) return;
  await sendMessage(host.queue_url, HostCommandSchema, { type: 'destroy', request_id: requestId, instance_id: instanceId });
}
