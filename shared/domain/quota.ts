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
 * What a project holds, in the item at keys.quotaUsage(projectId). The servers code updates it
 * in the same transaction that creates or deletes an instance; a missing item means zero usage.
 */
export const QuotaUsageSchema = z.object({
  instances: z.number().int().default(0),
  cores: z.number().int().default(0),
  ram: z.number().int().default(0),
});
export type QuotaUsage = z.infer<typeof QuotaUsageSchema>;
