import type { Route } from '../http/types.js';
import { networkExtensionRoutes } from './extensions.js';
import { networkResourceRoutes } from './networks.js';
import { networkVersionRoutes } from './versions.js';

/**
 * The network service's routes: only what the openstack CLI calls around servers (version
 * discovery and looking a network up by name or id). One shared network; see shared-network.ts.
 */
export const networkRoutes: Route[] = [...networkVersionRoutes, ...networkExtensionRoutes, ...networkResourceRoutes];
