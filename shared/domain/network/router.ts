import { z } from 'zod';
import { StandardAttributesSchema } from './network.js';
import { FixedIpSchema } from './port.js';

/**
 * A router's way out: its `network:router_gateway` port on an external network. The port's
 * addresses are copied here (a port's fixed IPs never change) so a router shows without reading it.
 */
export const ExternalGatewaySchema = z.object({
  network_id: z.string().uuid(),
  enable_snat: z.boolean().default(true),
  port_id: z.string().uuid(),
  external_fixed_ips: z.array(FixedIpSchema).default([]),
});
export type ExternalGateway = z.infer<typeof ExternalGatewaySchema>;

/**
 * A router as stored. Its interfaces are not listed here: they are the `network:router_interface`
 * ports whose device_id is the router (the device index finds them), as in Neutron.
 */
export const RouterSchema = StandardAttributesSchema.extend({
  admin_state_up: z.boolean().default(true),
  status: z.enum(['ACTIVE', 'DOWN', 'ERROR']).default('ACTIVE'),
  external_gateway: ExternalGatewaySchema.nullable().default(null),
});
export type Router = z.infer<typeof RouterSchema>;
