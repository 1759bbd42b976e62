import { BUILTIN_LIMITS, QuotaUsageSchema, type ComputeLimits, type QuotaUsage } from '../../../shared/domain/quota.js';
import { projectLimits } from '../../../shared/store/quota-limits.js';
import { keys } from '../../../shared/store/keys.js';
import { getItem } from '../../../shared/store/table.js';
import { json } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import type { Microversion } from './microversion.js';
import { authorizeAdmin } from './policy.js';
import { rejectUnknownQuery } from './query-params.js';

/**
 * A project's absolute limits (its quotas, shared/store/quota-limits.ts) and usage. Security
 * groups and floating IPs belong to Neutron, which Nova reports as unlimited (-1) and from 2.36
 * leaves out; 2.39 drops maxImageMeta (the image metadata proxy is gone), 2.57 the personality
 * limits. `hidden` names the limits the request's microversion leaves out (hiddenLimits).
 */
export function limitsView(usage: QuotaUsage & { server_groups?: number }, hidden: readonly string[] = [], limits: ComputeLimits = BUILTIN_LIMITS) {
  const absolute: Record<string, number> = {
    maxImageMeta: limits.metadata_items,
    maxPersonality: limits.injected_files,
    maxPersonalitySize: limits.injected_file_content_bytes,
    maxSecurityGroupRules: -1,
    maxSecurityGroups: -1,
    maxServerMeta: limits.metadata_items,
    maxTotalCores: limits.cores,
    maxTotalFloatingIps: -1,
    maxTotalInstances: limits.instances,
    maxTotalKeypairs: limits.key_pairs,
    maxTotalRAMSize: limits.ram,
    maxServerGroups: limits.server_groups,
    maxServerGroupMembers: limits.server_group_members,
    totalCoresUsed: usage.cores,
    totalInstancesUsed: usage.instances,
    totalRAMUsed: usage.ram,
    totalSecurityGroupsUsed: 0,
    totalFloatingIpsUsed: 0,
    totalServerGroupsUsed: usage.server_groups ?? 0,
  };
  for (const name of hidden) delete absolute[name];
  return { limits: { absolute, rate: [] } };
}

/** Nova's FILTERED_LIMITS_v236 (floating_ips, security_groups, security_group_rules) as the view names them. */
const NETWORK_LIMITS = ['maxSecurityGroups', 'maxSecurityGroupRules', 'maxTotalFloatingIps', 'totalSecurityGroupsUsed', 'totalFloatingIpsUsed'];
/** What FILTERED_LIMITS_v257 adds (injected_files, injected_file_content_bytes). */
const PERSONALITY_LIMITS = ['maxPersonality', 'maxPersonalitySize'];

/** The limits a microversion leaves out of GET /limits. */
export function hiddenLimits(mv: Microversion): string[] {
  return [
    ...(mv.atLeast('2.36') ? NETWORK_LIMITS : []),
    ...(mv.atLeast('2.39') ? ['maxImageMeta'] : []),
    ...(mv.atLeast('2.57') ? PERSONALITY_LIMITS : []),
  ];
}

async function show(req: ApiRequest) {
  rejectUnknownQuery(req, ['tenant_id']);
  const requested = req.query.get('tenant_id');
  if (requested !== null && requested !== req.auth.project_id) authorizeAdmin(req, 'os_compute_api:limits:other_project');
  const projectId = requested ?? req.auth.project_id;
  const [item, limits] = await Promise.all([getItem(keys.quotaUsage(projectId)), projectLimits(projectId)]);
  const usage = { ...QuotaUsageSchema.parse(item ?? {}), server_groups: Number(item?.server_groups ?? 0) };
  return json(200, limitsView(usage, hiddenLimits(req.microversion), limits));
}

export const limitRoutes: Route[] = [{ method: 'GET', path: '/compute/v2.1/limits', service: 'compute', handler: show }];
