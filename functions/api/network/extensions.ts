import { NotFound } from '../../../shared/errors.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';

/**
 * Neutron API extensions: none. The CLI asks (e.g. `availability zone list` looks for the
 * "Availability Zone" extension) and an empty list is the honest answer.
 */
async function listExtensions(): Promise<ApiResponse> {
  return json(200, { extensions: [] });
}

async function showExtension(req: ApiRequest): Promise<ApiResponse> {
  throw new NotFound(`Extension with alias ${req.params.alias} does not exist`);
}

export const networkExtensionRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/extensions', service: 'network', handler: listExtensions },
  { method: 'GET', path: '/networking/v2.0/extensions/{alias}', service: 'network', handler: showExtension },
];
