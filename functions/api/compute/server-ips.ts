import { NotFound } from '../../../shared/errors.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { loadInstance } from './server-access.js';
import { addressesView } from './views/server-view.js';

const BASE = '/compute/v2.1/servers/{server_id}/ips';

async function listIps(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { addresses: addressesView(await loadInstance(req)) });
}

async function showNetworkIps(req: ApiRequest): Promise<ApiResponse> {
  const addresses = addressesView(await loadInstance(req));
  const label = req.params.network_label;
  if (!(label in addresses)) throw new NotFound('Instance is not a member of specified network');
  return json(200, { [label]: addresses[label] });
}

export const serverIpsRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: listIps },
  { method: 'GET', path: `${BASE}/{network_label}`, service: 'compute', handler: showNetworkIps },
];
