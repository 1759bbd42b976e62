import { z } from 'zod';

/**
 * Everything one host's data plane must have, as the control plane computes it: the networks
 * the host has ports on, with their peers on other hosts (l2population), the host's own ports
 * and the security groups those ports use. Plain data, so one queue message carries it whole;
 * applying it is idempotent (see data-plane.ts).
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

export const HostNetworkStateSchema = z
  .strictObject({
    /** The namespace this host's data plane lives in (tests: one per simulated host); absent = the agent's own. */
    netns: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$/).optional(),
    /** This host's VTEP address. */
    underlay_ip: Ipv4Schema,
    /** The interface VXLAN packets leave by (the vxlan `dev`); absent = routed by the kernel. */
    underlay_dev: z.string().min(1).max(15).optional(),
    networks: z.array(NetworkStateSchema).default([]),
    ports: z.array(PortStateSchema).default([]),
    security_groups: z.array(SecurityGroupStateSchema).default([]),
  })
  .superRefine((state, ctx) => {
    const duplicates = (values: (string | number)[]) => values.filter((v, i) => values.indexOf(v) !== i);
    const unique: [string, (string | number)[]][] = [
      ['networks', state.networks.map((n) => n.id)],
      ['networks', state.networks.map((n) => n.vni)],
      ['ports', state.ports.map((p) => p.id)],
      ['security_groups', state.security_groups.map((g) => g.id)],
    ];
    for (const [path, values] of unique) {
      for (const value of new Set(duplicates(values))) ctx.addIssue({ code: 'custom', path: [path], message: `${value} appears more than once` });
    }
    const networks = new Set(state.networks.map((n) => n.id));
    const groups = new Set(state.security_groups.map((g) => g.id));
    state.ports.forEach((port, i) => {
      if (!networks.has(port.network_id)) ctx.addIssue({ code: 'custom', path: ['ports', i, 'network_id'], message: `network ${port.network_id} is not in networks` });
      for (const id of port.security_group_ids) {
        if (!groups.has(id)) ctx.addIssue({ code: 'custom', path: ['ports', i, 'security_group_ids'], message: `security group ${id} is not in security_groups` });
      }
    });
  });
export type HostNetworkState = z.infer<typeof HostNetworkStateSchema>;
/** What a message carries before defaults are filled in. */
export type HostNetworkStateInput = z.input<typeof HostNetworkStateSchema>;
