import type { Route } from '../../http/types.js';
import { floatingIpProxyRoutes } from './floating-ips.js';
import { goneRoutes } from './gone.js';
import { networkProxyRoutes } from './networks.js';
import { securityGroupRuleProxyRoutes } from './security-group-rules.js';
import { securityGroupProxyRoutes } from './security-groups.js';
import { serverSecurityGroupRoutes } from './server-security-groups.js';

/**
 * Nova's network proxy APIs (2.1-2.35): translations of Nova's calls into calls on this cloud's
 * Network API (neutron-client.ts), as Nova makes them on Neutron; and nova-network's calls, gone.
 */
export const networkProxyApiRoutes: Route[] = [
  ...securityGroupProxyRoutes,
  ...securityGroupRuleProxyRoutes,
  ...serverSecurityGroupRoutes,
  ...floatingIpProxyRoutes,
  ...networkProxyRoutes,
  ...goneRoutes,
];
