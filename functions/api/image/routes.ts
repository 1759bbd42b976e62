import type { Route } from '../http/types.js';
import { imageDataRoutes } from './image-data.js';
import { imageTagRoutes } from './image-tags.js';
import { imageResourceRoutes } from './images.js';
import { metadefNamespaceRoutes } from './metadef-namespaces.js';
import { imageSchemaRoutes } from './schemas.js';
import { imageVersionRoutes } from './versions.js';

/** The image service's routes, one module per API resource. */
export const imageRoutes: Route[] = [
  ...imageVersionRoutes,
  ...imageSchemaRoutes,
  ...imageResourceRoutes,
  ...imageDataRoutes,
  ...imageTagRoutes,
  ...metadefNamespaceRoutes,
];
