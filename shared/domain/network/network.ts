import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Fields every network-service resource has (Neutron's standard attributes). */
export const StandardAttributesSchema = z.object({
  id: z.string().uuid(),
  project_id: z.string(),
  name: z.string().default(''),
  description: z.string().default(''),
  /** Neutron's revision: bumped by every update, and the condition of every write. */
  revision_number: z.number().int().default(0),
  created_at: z.string(),
  updated_at: z.string(),
});

/** The standard attributes of a resource being created now. */
export function newStandardAttributes(projectId: string, named: { name?: string; description?: string } = {}) {
  const now = new Date().toISOString();
  return { id: randomUUID(), project_id: projectId, name: named.name ?? '', description: named.description ?? '', revision_number: 1, created_at: now, updated_at: now };
}

/** A network as stored. `vni` is its VXLAN id, allocated once by the control plane. */
export const NetworkSchema = StandardAttributesSchema.extend({
  admin_state_up: z.boolean().default(true),
  shared: z.boolean().default(false),
  router_external: z.boolean().default(false),
  mtu: z.number().int(),
  vni: z.number().int(),
  port_security_enabled: z.boolean().default(true),
});
export type Network = z.infer<typeof NetworkSchema>;

/** The VXLAN header costs 50 bytes of a 1500-byte underlay frame (Neutron's VXLAN_ENCAP_OVERHEAD + IPv4). */
export const TENANT_NETWORK_MTU = 1450;
/** The external network is a plain bridge on the hosts' uplink: no overlay, full MTU. */
export const EXTERNAL_NETWORK_MTU = 1500;
/** VNIs handed out to tenant networks (24 bits; 1 and up, as Neutron's vni_ranges). */
export const VNI_RANGE = { first: 1, last: 16_777_215 };
