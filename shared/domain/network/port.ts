import { z } from 'zod';
import { newStandardAttributes, StandardAttributesSchema } from './network.js';

export const FixedIpSchema = z.object({ subnet_id: z.string().uuid(), ip_address: z.string() });
export type FixedIp = z.infer<typeof FixedIpSchema>;
export const AddressPairSchema = z.object({ ip_address: z.string(), mac_address: z.string() });

/** Who owns a port, in Neutron's `device_owner` words. */
export const DeviceOwner = {
  /** Nova's ports carry `compute:<availability zone>`. */
  compute: (zone: string) => `compute:${zone}`,
  routerInterface: 'network:router_interface',
  routerGateway: 'network:router_gateway',
  floatingIp: 'network:floatingip',
  dhcp: 'network:dhcp',
  /** A host's own address on an external network (SNAT and floating IPs of its guests), as Neutron DVR's. */
  agentGateway: 'network:floatingip_agent_gateway',
} as const;

/** A port as stored. */
export const PortSchema = StandardAttributesSchema.extend({
  network_id: z.string().uuid(),
  mac_address: z.string(),
  fixed_ips: z.array(FixedIpSchema),
  device_id: z.string().default(''),
  device_owner: z.string().default(''),
  admin_state_up: z.boolean().default(true),
  /** DOWN until the host that runs its device reports it plugged. */
  status: z.enum(['ACTIVE', 'DOWN', 'BUILD', 'ERROR']).default('DOWN'),
  binding_host_id: z.string().default(''),
  security_groups: z.array(z.string()).default([]),
  port_security_enabled: z.boolean().default(true),
  allowed_address_pairs: z.array(AddressPairSchema).default([]),
  /** Set on the ports Nova made for a server: deleted with it. Ports a user passed in are only unbound. */
  delete_with_device: z.boolean().default(false),
});
export type Port = z.infer<typeof PortSchema>;

/** A locally administered unicast MAC with Neutron's default base_mac prefix. */
export const MAC_PREFIX = 'fa:16:3e';
export const isMac = (text: string) => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(text);

/**
 * A port the network service makes for itself (a router's interface or gateway, a floating IP's
 * address, a DHCP server): up and ACTIVE, no security groups (Neutron exempts them), going with
 * what owns it.
 */
export function networkOwnedPort(projectId: string, owner: { network_id: string; device_id: string; device_owner: string }) {
  return {
    ...newStandardAttributes(projectId),
    ...owner,
    admin_state_up: true,
    status: 'ACTIVE' as const,
    binding_host_id: '',
    security_groups: [],
    port_security_enabled: false,
    allowed_address_pairs: [],
    delete_with_device: true,
  };
}
