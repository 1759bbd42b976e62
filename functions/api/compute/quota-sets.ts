import { QUOTA_DEFAULTS, QuotaUsageSchema } from '../../../shared/domain/quota.js';
import { keys } from '../../../shared/store/keys.js';
import { listKeypairs } from '../../../shared/store/keypairs.js';
import { getItem } from '../../../shared/store/table.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';

/**
 * `os-quota-sets`, read-only: every project has Nova's defaults (setting them per project is not
 * offered yet). Security groups, their rules, floating and fixed IPs belong to Neutron, which
 * Nova shows as unlimited (-1), as its API samples do, and from 2.36 leaves out.
 */
const LIMITS = {
  ...QUOTA_DEFAULTS,
  injected_file_path_bytes: 255,
  fixed_ips: -1,
  floating_ips: -1,
  security_group_rules: -1,
  security_groups: -1,
};

/** Nova's FILTERED_QUOTAS_v236. */
const NETWORK_QUOTAS = new Set(['fixed_ips', 'floating_ips', 'security_group_rules', 'security_groups']);

/** The quotas the request's microversion shows. */
const limitsFor = (req: ApiRequest): [string, number][] =>
  Object.entries(LIMITS).filter(([name]) => !(req.microversion.atLeast('2.36') && NETWORK_QUOTAS.has(name)));

function projectOf(req: ApiRequest): string {
  const projectId = req.params.project_id;
  if (projectId !== req.auth.project_id) authorizeAdmin(req, 'os_compute_api:os-quota-sets:show');
  return projectId;
}

const quotaSet = (projectId: string, values: Record<string, unknown>) => ({ quota_set: { id: projectId, ...values } });

async function show(req: ApiRequest): Promise<ApiResponse> {
  return json(200, quotaSet(projectOf(req), Object.fromEntries(limitsFor(req))));
}

/** Usage beside each limit: servers, cores and RAM as counted at create; key pairs are the caller's (Nova counts them per user). */
async function detail(req: ApiRequest): Promise<ApiResponse> {
  const projectId = projectOf(req);
  const item = (await getItem(keys.quotaUsage(projectId))) ?? {};
  const usage = QuotaUsageSchema.parse(item);
  // Server groups are counted in the same item, by the groups' own transactions.
  const inUse: Record<string, number> = { ...usage, server_groups: Number(item.server_groups ?? 0), key_pairs: (await listKeypairs(req.auth.user_id)).length };
  const values = Object.fromEntries(limitsFor(req).map(([k, limit]) => [k, { in_use: inUse[k] ?? 0, limit, reserved: 0 }]));
  return json(200, quotaSet(projectId, values));
}

export const quotaSetRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-quota-sets/{project_id}', service: 'compute', handler: show },
  { method: 'GET', path: '/compute/v2.1/os-quota-sets/{project_id}/defaults', service: 'compute', handler: show },
  { method: 'GET', path: '/compute/v2.1/os-quota-sets/{project_id}/detail', service: 'compute', handler: detail },
];
