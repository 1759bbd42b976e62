import type { Route } from '../http/types.js';

/** The compute service's routes, one module per API resource. */
export const computeRoutes: Route[] = [];
