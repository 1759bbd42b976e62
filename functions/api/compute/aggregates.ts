import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';

/**
 * Host aggregates are not implemented: the list is honestly empty. It exists because
 * `openstack hypervisor show` lists aggregates to show a host's membership.
 */
async function listAggregates(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-aggregates:index');
  return json(200, { aggregates: [] });
}

export const aggregateRoutes: Route[] = [{ method: 'GET', path: '/compute/v2.1/os-aggregates', service: 'compute', handler: listAggregates }];
