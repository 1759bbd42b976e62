import { z } from 'zod';

/** Nova's default per-project quotas (the [quota] section of nova.conf). */
export const QUOTA_DEFAULTS = {
  instances: 10,
  cores: 20,
  ram: 51200,
  key_pairs: 100,
  metadata_items: 128,
  server_groups: 10,
  server_group_members: 10,
  injected_files: 5,
  injected_file_content_bytes: 10240,
} as const;

/**
 * Neutron's resources, which Nova's quota API still shows and stores below 2.36 (unlimited by
 * default) and enforces nothing of: Neutron's own quotas do.
 */
export const NETWORK_QUOTAS = ['fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules'] as const;

/** The personality (injected file) quotas, which the API leaves out from 2.57. */
export const INJECTED_FILE_QUOTAS = ['injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes'] as const;

/** A quota Nova lets operators set: the defaults' names, the path length of injected files, and the network ones. */
export const COMPUTE_QUOTAS = [...(Object.keys(QUOTA_DEFAULTS) as (keyof typeof QUOTA_DEFAULTS)[]), 'injected_file_path_bytes', ...NETWORK_QUOTAS] as const;
export type ComputeQuota = (typeof COMPUTE_QUOTAS)[number];
export type ComputeLimits = Record<ComputeQuota, number>;

/** The built-in limits, before any quota class or project setting. */
export const BUILTIN_LIMITS: ComputeLimits = { ...QUOTA_DEFAULTS, injected_file_path_bytes: 255, fixed_ips: -1, floating_ips: -1, security_groups: -1, security_group_rules: -1 };

/** A limit as set (-1 = unlimited), for a class, a project or a user: only what was set is stored. */
export const QuotaLimitsSchema = z.partialRecord(z.enum(COMPUTE_QUOTAS), z.number().int().min(-1));
export type QuotaLimits = z.infer<typeof QuotaLimitsSchema>;

/** A limit as a condition can use it: unlimited as a number no usage reaches. */
export const enforceable = (limit: number) => (limit < 0 ? Number.MAX_SAFE_INTEGER : limit);

/** The cores and RAM a server's flavor grows by from `from` to `to` (nothing where it shrinks): what a resize up adds to its quota (Nova's upsize_quota_delta). */
export const flavorGrowth = (from: { vcpus: number; ram: number }, to: { vcpus: number; ram: number }): QuotaUsage => ({
  instances: 0,
  cores: Math.max(0, to.vcpus - from.vcpus),
  ram: Math.max(0, to.ram - from.ram),
});

/** The limits a server counts against (instances, cores, ram), unlimited ones as a bound no count reaches. */
export const serverLimits = (l: ComputeLimits) => ({ instances: enforceable(l.instances), cores: enforceable(l.cores), ram: enforceable(l.ram) });

/**
 * What a project holds, in the item at keys.quotaUsage(projectId). The servers code updates it
 * in the same transaction that creates or deletes an instance; a missing item means zero usage.
 */
export const QuotaUsageSchema = z.object({
  instances: z.number().int().default(0),
  cores: z.number().int().default(0),
  ram: z.number().int().default(0),
});
export type QuotaUsage = z.infer<typeof QuotaUsageSchema>;
