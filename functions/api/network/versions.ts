import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';

/** Neutron's root document: the one API version, v2.0. */
async function versions(req: ApiRequest): Promise<ApiResponse> {
  return json(200, {
    versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ rel: 'self', href: `${req.baseUrl}/networking/v2.0/` }] }],
  });
}

export const networkVersionRoutes: Route[] = [
  { method: 'GET', path: '/networking', service: 'network', public: true, handler: versions },
];
