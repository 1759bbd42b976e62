import { ApiError } from '../../../shared/errors.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';

/**
 * `GET /servers/{server_id}/os-virtual-interfaces`: nova-network's, 404 from 2.44 in Nova's
 * history and removed in Nova 18.0.0 (Rocky), where every version answers 410 Gone, as here.
 */
async function listVirtualInterfaces(_req: ApiRequest): Promise<ApiResponse> {
  throw new ApiError(410, 'computeFault', 'Gone', 'This resource is no longer available.  No forwarding address is given.');
}

export const virtualInterfaceRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/servers/{server_id}/os-virtual-interfaces', service: 'compute', handler: listVirtualInterfaces },
];
