import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { json } from '../http/body.js';
import { loadInstance } from './server-access.js';

/**
 * `os-server-password`: the encrypted password a guest posts to the metadata service (Windows
 * images do). The metadata service here takes no posts, so a server has none: GET answers '' as
 * Nova does for a server without one, and DELETE (clearing it) has nothing to clear.
 */
async function showPassword(req: ApiRequest): Promise<ApiResponse> {
  await loadInstance(req);
  return json(200, { password: '' });
}

async function clearPassword(req: ApiRequest): Promise<ApiResponse> {
  await loadInstance(req);
  return { status: 204 };
}

export const serverPasswordRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/servers/{server_id}/os-server-password', service: 'compute', handler: showPassword },
  { method: 'DELETE', path: '/compute/v2.1/servers/{server_id}/os-server-password', service: 'compute', handler: clearPassword },
];
