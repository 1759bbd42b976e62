import { z } from 'zod';

/**
 * A move of a server between hosts (Nova's Migration object): a resize or a cold migration.
 * `pre-migrating` (asked, not placed yet) → `migrating` (destination claimed, the source sets its
 * disk aside) → `post-migrating` (the destination builds the guest) → `finished` (VERIFY_RESIZE)
 * → `confirming`/`confirmed` or `reverting`/`reverted`; `error` when it failed and was rolled back.
 */
export const MigrationStatus = z.enum(['pre-migrating', 'migrating', 'post-migrating', 'finished', 'confirming', 'confirmed', 'reverting', 'reverted', 'error']);
export type MigrationStatus = z.infer<typeof MigrationStatus>;

export const MigrationSchema = z.object({
  /** Nova's integer id (its API shows it at every microversion). */
  id: z.number().int().positive(),
  /** Shown from 2.59. */
  uuid: z.string().uuid(),
  instance_uuid: z.string().uuid(),
  migration_type: z.enum(['resize', 'migration']),
  status: MigrationStatus,
  source_compute: z.string(),
  source_node: z.string(),
  dest_compute: z.string().nullable(),
  dest_node: z.string().nullable(),
  /** The destination host's address (Nova's dest_host). */
  dest_host: z.string().nullable(),
  old_flavor_id: z.string(),
  new_flavor_id: z.string(),
  user_id: z.string(),
  project_id: z.string(),
  /** The admin's requested destination (migrate with `host`, 2.56). */
  requested_host: z.string().nullable().default(null),
  /** Whether the scheduler may pick the source host again (Nova's allow_resize_to_same_host). */
  allow_same_host: z.boolean().default(false),
  /** The request that asked for it (its instance action). */
  request_id: z.string(),
  /** Why it ended in error. */
  error: z.string().nullable().default(null),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Migration = z.infer<typeof MigrationSchema>;

/** Nova's integer flavor id in a migration view: the flavor id when it is an integer, else null. */
export const flavorNumber = (id: string): number | null => (/^\d+$/.test(id) && Number(id) <= Number.MAX_SAFE_INTEGER ? Number(id) : null);
