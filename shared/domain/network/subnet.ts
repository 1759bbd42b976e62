import { z } from 'zod';
import { StandardAttributesSchema } from './network.js';

export const HostRouteSchema = z.object({ destination: z.string(), nexthop: z.string() });
export const AllocationPoolSchema = z.object({ start: z.string(), end: z.string() });

/** An IPv4 subnet as stored (IPv6 is not offered). */
export const SubnetSchema = StandardAttributesSchema.extend({
  network_id: z.string().uuid(),
  ip_version: z.literal(4),
  cidr: z.string(),
  gateway_ip: z.string().nullable(),
  allocation_pools: z.array(AllocationPoolSchema),
  dns_nameservers: z.array(z.string()).default([]),
  host_routes: z.array(HostRouteSchema).default([]),
  enable_dhcp: z.boolean().default(true),
});
export type Subnet = z.infer<typeof SubnetSchema>;
