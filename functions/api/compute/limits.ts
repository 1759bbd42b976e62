import { QUOTA_DEFAULTS, QuotaUsageSchema, type QuotaUsage } from '../../../shared/domain/quota.js';
import { keys } from '../../../shared/store/keys.js';
import { getItem } from '../../../shared/store/table.js';
import { json } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';

/**
 * A project's absolute limits and usage. Security groups and floating IPs belong to Neutron, which
 * Nova reports as unlimited (-1) and from 2.36 leaves out; there are no server groups here, so none
 * are used.
 */
export function limitsView(usage: QuotaUsage, withNetworkLimits = true) {
  const absolute: Record<string, number> = {
    maxImageMeta: QUOTA_DEFAULTS.metadata_items,
    maxPersonality: QUOTA_DEFAULTS.injected_files,
    maxPersonalitySize: QUOTA_DEFAULTS.injected_file_content_bytes,
    maxSecurityGroupRules: -1,
    maxSecurityGroups: -1,
    maxServerMeta: QUOTA_DEFAULTS.metadata_items,
    maxTotalCores: QUOTA_DEFAULTS.cores,
    maxTotalFloatingIps: -1,
    maxTotalInstances: QUOTA_DEFAULTS.instances,
    maxTotalKeypairs: QUOTA_DEFAULTS.key_pairs,
    maxTotalRAMSize: QUOTA_DEFAULTS.ram,
    maxServerGroups: QUOTA_DEFAULTS.server_groups,
    maxServerGroupMembers: QUOTA_DEFAULTS.server_group_members,
    totalCoresUsed: usage.cores,
    totalInstancesUsed: usage.instances,
    totalRAMUsed: usage.ram,
    totalSecurityGroupsUsed: 0,
    totalFloatingIpsUsed: 0,
    totalServerGroupsUsed: 0,
  };
  if (!withNetworkLimits) for (const name of NETWORK_LIMITS) delete absolute[name];
  return { limits: { absolute, rate: [] } };
}

/** Nova's FILTERED_LIMITS_v236 (floating_ips, security_groups, security_group_rules) as the view names them. */
const NETWORK_LIMITS = ['maxSecurityGroups', 'maxSecurityGroupRules', 'maxTotalFloatingIps', 'totalSecurityGroupsUsed', 'totalFloatingIpsUsed'];

async function show(req: ApiRequest) {
  const requested = req.query.get('tenant_id');
  if (requested !== null && requested !== req.auth.project_id) authorizeAdmin(req, 'os_compute_api:limits:other_project');
  const projectId = requested ?? req.auth.project_id;
  const item = await getItem(keys.quotaUsage(projectId));
  return json(200, limitsView(QuotaUsageSchema.parse(item ?? {}), !req.microversion.atLeast('2.36')));
}

export const limitRoutes: Route[] = [{ method: 'GET', path: '/compute/v2.1/limits', service: 'compute', handler: show }];
