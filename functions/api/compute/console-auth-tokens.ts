import { ConsoleTokenRejected, verifyConsoleToken } from '../../../shared/console/console-token.js';
import { consolePort } from '../../../shared/console/console-url.js';
import { BadRequest, NotFound } from '../../../shared/errors.js';
import { getHost } from '../../../shared/store/hosts.js';
import { getInstance } from '../../../shared/store/instances.js';
import { consoleTokenUsed } from '../../../shared/store/used-console-tokens.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { consoleKeyConfigured, consoleKeys } from './console-key.js';
import { authorizeAdmin } from './policy.js';

/**
 * `GET /os-console-auth-tokens/{console_token}` (admin; 2.31 and later for every console type,
 * a bare 400 below as Nova since rdp left): what the token connects to. A token is found when
 * its signature holds, it has not expired, no host reported its use (the conductor records it
 * from the host's console_opened report, a moment after the websocket opened) and its instance
 * is still on the host it names.
 * `port` is the host's console proxy port (guests' VNC servers are unix sockets, not ports).
 */
async function showConsoleAuthToken(req: ApiRequest): Promise<ApiResponse> {
  if (!req.microversion.atLeast('2.31')) throw new BadRequest('The server could not comply with the request since it is either malformed or otherwise incorrect.');
  authorizeAdmin(req, 'os_compute_api:os-console-auth-tokens:show');
  const notFound = new NotFound('Token not found');
  if (!consoleKeyConfigured()) throw notFound;
  let claims;
  try {
    claims = await verifyConsoleToken(req.params.console_token, (await consoleKeys()).publicKey, { clockToleranceSeconds: 0 });
  } catch (error) {
    if (error instanceof ConsoleTokenRejected) throw notFound;
    throw error;
  }
  const [instance, host, used] = await Promise.all([getInstance(claims.sub), getHost(claims.aud), consoleTokenUsed(claims.jti)]);
  if (used || !instance || instance.host !== claims.aud || !host?.console_url) throw notFound;
  return json(200, { console: { instance_uuid: claims.sub, host: claims.aud, port: consolePort(host.console_url), internal_access_path: null } });
}

export const consoleAuthTokenRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-console-auth-tokens/{console_token}', service: 'compute', handler: showConsoleAuthToken },
];
