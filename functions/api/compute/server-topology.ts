import { NotFound } from '../../../shared/errors.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { loadInstance } from './server-access.js';

/**
 * `GET /servers/{server_id}/topology` (2.78): the guest's NUMA cells. Guests here have no NUMA
 * topology (no hw:numa_* or pinning is modelled), so every server answers what Nova answers for
 * an instance whose numa_topology is None.
 */
async function showTopology(req: ApiRequest): Promise<ApiResponse> {
  if (!req.microversion.atLeast('2.78')) throw new NotFound('The resource could not be found.');
  await loadInstance(req);
  return json(200, { nodes: [], pagesize_kb: null });
}

export const serverTopologyRoutes: Route[] = [{ method: 'GET', path: '/compute/v2.1/servers/{server_id}/topology', service: 'compute', handler: showTopology }];
