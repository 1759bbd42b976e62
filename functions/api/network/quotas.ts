import { NETWORK_QUOTA_DEFAULTS } from '../../../shared/domain/network/quota.js';
import { NotAuthorized } from '../../../shared/domain/network/errors.js';
import { networkQuotaUsage } from '../../../shared/store/network/quota.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';

/**
 * Neutron's quotas, read-only: every project has Neutron's defaults (setting them per project
 * comes with the compute quota sets). Enforced where resources are created, atomically.
 */
function checkProject(req: ApiRequest): string {
  const projectId = req.params.project_id;
  if (projectId !== req.auth.project_id && !isAdmin(req.auth)) throw new NotAuthorized('(rule:get_quota) is disallowed by policy');
  return projectId;
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  checkProject(req);
  return json(200, { quota: { ...NETWORK_QUOTA_DEFAULTS } });
}

async function details(req: ApiRequest): Promise<ApiResponse> {
  const used = await networkQuotaUsage(checkProject(req));
  const quota = Object.fromEntries(Object.entries(NETWORK_QUOTA_DEFAULTS).map(([r, limit]) => [r, { limit, used: used[r as keyof typeof used], reserved: 0 }]));
  return json(200, { quota });
}

export const quotaRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/quotas/{project_id}', service: 'network', handler: show },
  { method: 'GET', path: '/networking/v2.0/quotas/{project_id}/default', service: 'network', handler: show },
  { method: 'GET', path: '/networking/v2.0/quotas/{project_id}/details', service: 'network', handler: details },
];
