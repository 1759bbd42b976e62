import type { Route } from '../http/types.js';

/** The network service's routes, one module per API resource. */
export const networkRoutes: Route[] = [];
