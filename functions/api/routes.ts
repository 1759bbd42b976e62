import type { Route } from './http/types.js';
import { identityRoutes } from './identity/routes.js';
import { computeRoutes } from './compute/routes.js';
import { imageRoutes } from './image/routes.js';
import { networkRoutes } from './network/routes.js';

/** Every route of the API, grouped by the OpenStack service it belongs to. */
export const routes: Route[] = [...identityRoutes, ...computeRoutes, ...imageRoutes, ...networkRoutes];
