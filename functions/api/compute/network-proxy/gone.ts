import { ApiError } from '../../../../shared/errors.js';
import type { ApiResponse, Route } from '../../http/types.js';

/**
 * nova-network's own calls, removed from Nova (Rocky to Ussuri) and answering 410 Gone at every
 * microversion there, as here: fixed IPs, bulk floating IPs, floating IP DNS, fping, default
 * security group rules, and the writes of os-networks and os-tenant-networks.
 */
async function gone(): Promise<ApiResponse> {
  throw new ApiError(410, 'computeFault', 'Gone', 'This resource is no longer available.  No forwarding address is given.');
}

const GONE_CALLS: [Route['method'], string][] = [
  ['GET', '/os-fixed-ips/{id}'],
  ['POST', '/os-fixed-ips/{id}/action'],
  ['GET', '/os-floating-ips-bulk'],
  ['POST', '/os-floating-ips-bulk'],
  ['GET', '/os-floating-ips-bulk/{id}'],
  ['PUT', '/os-floating-ips-bulk/{id}'],
  ['GET', '/os-floating-ip-dns'],
  ['PUT', '/os-floating-ip-dns/{id}'],
  ['DELETE', '/os-floating-ip-dns/{id}'],
  ['GET', '/os-floating-ip-dns/{domain_id}/entries/{id}'],
  ['PUT', '/os-floating-ip-dns/{domain_id}/entries/{id}'],
  ['DELETE', '/os-floating-ip-dns/{domain_id}/entries/{id}'],
  ['GET', '/os-fping'],
  ['GET', '/os-fping/{id}'],
  ['GET', '/os-security-group-default-rules'],
  ['POST', '/os-security-group-default-rules'],
  ['GET', '/os-security-group-default-rules/{id}'],
  ['DELETE', '/os-security-group-default-rules/{id}'],
  ['POST', '/os-networks'],
  ['POST', '/os-networks/add'],
  ['DELETE', '/os-networks/{id}'],
  ['POST', '/os-networks/{id}/action'],
  ['POST', '/os-tenant-networks'],
  ['DELETE', '/os-tenant-networks/{id}'],
];

export const goneRoutes: Route[] = GONE_CALLS.map(([method, path]) => ({ method, path: `/compute/v2.1${path}`, service: 'compute', handler: gone }));
