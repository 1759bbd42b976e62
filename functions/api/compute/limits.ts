import { QUOTA_DEFAULTS, QuotaUsageSchema, type QuotaUsage } from '../../../shared/domain/quota.js';
import { keys } from '../../../shared/store/keys.js';
import { getItem } from '../../../shared/store/table.js';
import { json } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';

/**
 * A project's absolute limits and usage (2.1 shape). Security groups and floating IPs belong to
 * Neutron, which Nova reports as unlimited (-1); there are no server groups here, so none are used.
 */
export function limitsView(usage: QuotaUsage) {
  return {
    limits: {
      absolute: {
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
      },
      rate: [],
    },
  };
}

async function show(req: ApiRequest) {
  const requested = req.query.get('tenant_id');
  if (requested !== null && requested !== req.auth.project_id) authorizeAdmin(req, 'os_compute_api:limits:other_project');
  const projectId = requested ?? req.auth.project_id;
  const item = await getItem(keys.quotaUsage(projectId));
  return json(200, limitsView(QuotaUsageSchema.parse(item ?? {})));
}

export const limitRoutes: Route[] = [{ method: 'GET', path: '/compute/v2.1/limits', service: 'compute', handler: show }];
