import type { Route } from '../http/types.js';

/** The identity service's routes, one module per API resource. */
export const identityRoutes: Route[] = [];
