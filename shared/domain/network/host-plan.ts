import { z } from 'zod';

/**
 * What one host's data plane must have, as the control plane computes it (shared/network-plan/):
 * the networks the host has ports on, with their peers on other hosts (l2population), the host's
 * own ports, the security groups those ports use, and the routers that serve them. Plain data,
 * so one queue message carries it whole; the agent applies it idempotently
 * (host-agent/network/data-plane.ts) after adding what only the host knows (its namespace,
 * tunnel address, external bridge).
 */

const Ipv4Schema = z.ipv4();
const MacSchema = z.mac().transform((mac) => mac.toLowerCase());
/** An address or a CIDR, as Neutron's allowed_address_pairs and remote_ip_prefix take them. */
const Ipv4OrCidrSchema = z.union([z.ipv4(), z.cidrv4()]);

export const HostRouteSchema = z.strictObject({ destination: z.cidrv4(), nexthop: Ipv4Schema });

export const SubnetStateSchema = z.strictObject({
  id: z.uuid(),
  cidr: z.cidrv4(),
  gateway_ip: Ipv4Schema.nullable(),
  enable_dhcp: z.boolean(),
  dns_nameservers: z.array(Ipv4Schema).default([]),
  host_routes: z.array(HostRouteSchema).default([]),
});
export type SubnetState = z.infer<typeof SubnetStateSchema>;

export const FixedIpStateSchema = z.strictObject({ subnet_id: z.uuid(), ip_address: Ipv4Schema });

/** A port on another host: where its MAC lives (unicast FDB entry). */
export const RemotePortSchema = z.strictObject({ mac_address: MacSchema, ip_address: Ipv4Schema, vtep: Ipv4Schema });

export const NetworkStateSchema = z.strictObject({
  id: z.uuid(),
  /** The VXLAN segmentation id. */
  vni: z.number().int().min(1).max(16_777_215),
  mtu: z.number().int().min(576).max(9000).default(1450),
  subnets: z.array(SubnetStateSchema).default([]),
  /** This host's `network:dhcp` port on the network (one per host, as one per Neutron DHCP agent); null = no DHCP here. */
  dhcp: z.strictObject({ mac_address: MacSchema, fixed_ips: z.array(FixedIpStateSchema).min(1) }).nullable().default(null),
  /** The VTEPs of the other hosts with ports on this network: broadcast, unknown unicast and multicast go to each. */
  flood: z.array(Ipv4Schema).default([]),
  remote_ports: z.array(RemotePortSchema).default([]),
});
export type NetworkState = z.infer<typeof NetworkStateSchema>;

export const AddressPairStateSchema = z.strictObject({ ip_address: Ipv4OrCidrSchema, mac_address: MacSchema.optional() });

export const PortStateSchema = z.strictObject({
  id: z.uuid(),
  network_id: z.uuid(),
  mac_address: MacSchema,
  fixed_ips: z.array(FixedIpStateSchema).default([]),
  port_security_enabled: z.boolean().default(true),
  allowed_address_pairs: z.array(AddressPairStateSchema).default([]),
  security_group_ids: z.array(z.uuid()).default([]),
});
export type PortState = z.infer<typeof PortStateSchema>;

/** IP protocol names Neutron accepts that the data plane can match, with their numbers. */
export const IP_PROTOCOLS = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, sctp: 132 } as const;

export const SecurityGroupRuleStateSchema = z.strictObject({
  id: z.uuid(),
  direction: z.enum(['ingress', 'egress']),
  ethertype: z.enum(['IPv4', 'IPv6']).default('IPv4'),
  /** A name of IP_PROTOCOLS or a protocol number; null = any. */
  protocol: z
    .union([z.enum(Object.keys(IP_PROTOCOLS) as [keyof typeof IP_PROTOCOLS]), z.string().regex(/^\d{1,3}$/).refine((n) => Number(n) <= 255)])
    .nullable()
    .default(null),
  /** Ports for tcp/udp/sctp; ICMP type (min) and code (max) for icmp, as Neutron has it. */
  port_range_min: z.number().int().min(0).max(65535).nullable().default(null),
  port_range_max: z.number().int().min(0).max(65535).nullable().default(null),
  remote_ip_prefix: Ipv4OrCidrSchema.nullable().default(null),
  remote_group_id: z.uuid().nullable().default(null),
});
export type SecurityGroupRuleState = z.infer<typeof SecurityGroupRuleStateSchema>;
export type SecurityGroupRuleStateInput = z.input<typeof SecurityGroupRuleStateSchema>;

export const SecurityGroupStateSchema = z.strictObject({
  id: z.uuid(),
  rules: z.array(SecurityGroupRuleStateSchema).default([]),
  /** The IPv4 addresses of every port in the group, cloud-wide, for other groups' remote_group_id rules. */
  member_ips: z.array(Ipv4OrCidrSchema).default([]),
});
export type SecurityGroupState = z.infer<typeof SecurityGroupStateSchema>;

/** A router as one host holds it (distributed: every host with a port behind it has its own copy). */
export const RouterPlanSchema = z.strictObject({
  id: z.uuid(),
  /** All its interfaces (the host joins their networks to route between them): the gateway address, with the same MAC on every host. */
  interfaces: z
    .array(
      z.strictObject({
        port_id: z.uuid(),
        network_id: z.uuid(),
        subnet_id: z.uuid(),
        mac_address: MacSchema,
        ip_address: Ipv4Schema,
        prefix_length: z.number().int().min(1).max(32),
      }),
    )
    .default([]),
  /** Its side on the external network, on this host; null when the router has no external gateway. */
  gateway: z
    .strictObject({
      network_id: z.uuid(),
      /** This host's own address on the external network (its SNAT source; it answers ARP for the floating IPs it holds). */
      host_address: Ipv4Schema,
      host_mac_address: MacSchema,
      prefix_length: z.number().int().min(1).max(32),
      /** The external subnet's gateway: the way out. */
      gateway_ip: Ipv4Schema.nullable(),
      enable_snat: z.boolean().default(true),
    })
    .nullable()
    .default(null),
  /** 1:1 NAT for the floating IPs of this host's ports behind the router. */
  floating_ips: z.array(z.strictObject({ floating_ip_address: Ipv4Schema, fixed_ip_address: Ipv4Schema, port_id: z.uuid() })).default([]),
});
export type RouterPlan = z.infer<typeof RouterPlanSchema>;

/** The instance each local port belongs to, so the metadata service answers a guest with its own data. */
export const PortDeviceSchema = z.strictObject({ port_id: z.uuid(), instance_id: z.uuid() });

export const HostNetworkPlanSchema = z.strictObject({
  /** Plans are full snapshots; a host applies one only if it is newer than the last it applied (SQS reorders). */
  revision: z.number().int().nonnegative(),
  networks: z.array(NetworkStateSchema).default([]),
  ports: z.array(PortStateSchema).default([]),
  security_groups: z.array(SecurityGroupStateSchema).default([]),
  routers: z.array(RouterPlanSchema).default([]),
  devices: z.array(PortDeviceSchema).default([]),
  /**
   * This host's own MAC for frames its routers send to other hosts (Neutron's DVR host MAC): the
   * gateway MAC is the same on every host, so a frame routed here leaves with this one instead,
   * and no bridge elsewhere learns the gateway on a tunnel. null = no cross-host routing.
   */
  dvr_mac: MacSchema.nullable().default(null),
});
export type HostNetworkPlan = z.infer<typeof HostNetworkPlanSchema>;
export type HostNetworkPlanInput = z.input<typeof HostNetworkPlanSchema>;
