import { BadRequest, Forbidden } from '../../../shared/errors.js';
import { listHosts } from '../../../shared/store/hosts.js';
import type { ApiRequest } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';

/**
 * The destination an admin asks a boot for (2.74 `host` and/or `hypervisor_hostname`): unlike
 * `zone:host` the scheduler's filters still run, on that host only. Each host has one node, named
 * as the host. Nova's checks: admins only (compute:servers:create:requested_destination), not
 * with a forced host, and the host / node must exist (400 ComputeHostNotFound).
 */
export async function requestedDestination(
  req: ApiRequest,
  wanted: { host?: string; hypervisor_hostname?: string },
  forcedHost: string | null,
): Promise<string | null> {
  const { host, hypervisor_hostname: node } = wanted;
  if (!host && !node) return null;
  if (!isAdmin(req.auth)) throw new Forbidden("Policy doesn't allow compute:servers:create:requested_destination to be performed.");
  if (forcedHost) {
    throw new BadRequest('One mechanism with host and/or hypervisor_hostname and another mechanism with zone:host:node are mutually exclusive.');
  }
  const names = new Set((await listHosts()).map((h) => h.host));
  if (host && !names.has(host)) throw new BadRequest(`Compute host ${host} could not be found.`);
  if (node && (!names.has(node) || (host && node !== host))) throw new BadRequest(`Compute host ${host ?? node} could not be found.`);
  return host ?? node!;
}
