import type { Route } from '../http/types.js';
import { networkExtensionRoutes } from './extensions.js';
import { floatingIpRoutes } from './floating-ips.js';
import { networkResourceRoutes } from './networks.js';
import { portRoutes } from './ports.js';
import { quotaRoutes } from './quotas.js';
import { routerInterfaceRoutes } from './router-interfaces.js';
import { routerRoutes } from './routers.js';
import { securityGroupRuleRoutes } from './security-group-rules.js';
import { securityGroupRoutes } from './security-groups.js';
import { subnetRoutes } from './subnets.js';
import { networkVersionRoutes } from './versions.js';

/** The network service's routes (a Neutron v2.0 subset): one file per resource, as in compute. */
export const networkRoutes: Route[] = [
  ...networkVersionRoutes,
  ...networkExtensionRoutes,
  ...networkResourceRoutes,
  ...subnetRoutes,
  ...portRoutes,
  ...quotaRoutes,
  ...routerRoutes,
  ...routerInterfaceRoutes,
  ...floatingIpRoutes,
  ...securityGroupRoutes,
  ...securityGroupRuleRoutes,
];
