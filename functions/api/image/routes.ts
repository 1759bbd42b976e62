import type { Route } from '../http/types.js';

/** The image service's routes, one module per API resource. */
export const imageRoutes: Route[] = [];
