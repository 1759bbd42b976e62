import { z } from 'zod';
import { StandardAttributesSchema } from './network.js';

/**
 * A floating IP as stored. Its address is held by a `network:floatingip` port on the external
 * network (`floating_port_id`, whose device_id is the floating IP), as Neutron does; while
 * associated it names the internal port, which of its fixed IPs, and the router that joins them.
 */
export const FloatingIpSchema = StandardAttributesSchema.extend({
  floating_network_id: z.string().uuid(),
  floating_ip_address: z.string(),
  floating_port_id: z.string().uuid(),
  port_id: z.string().uuid().nullable().default(null),
  fixed_ip_address: z.string().nullable().default(null),
  router_id: z.string().uuid().nullable().default(null),
  /** ACTIVE while associated, DOWN otherwise (as the control plane sees it; no host confirms the NAT yet). */
  status: z.enum(['ACTIVE', 'DOWN', 'ERROR']).default('DOWN'),
});
export type FloatingIp = z.infer<typeof FloatingIpSchema>;

/** What an association sets (all null when disassociated). */
export type FloatingIpAssociation = Pick<FloatingIp, 'port_id' | 'fixed_ip_address' | 'router_id'>;
