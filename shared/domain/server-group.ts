import { z } from 'zod';

/** Nova's server group policies: the soft ones from microversion 2.15. */
export const ServerGroupPolicy = z.enum(['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity']);
export type ServerGroupPolicy = z.infer<typeof ServerGroupPolicy>;

/** A server group as stored (its members and placements are items of its own partition). */
export const ServerGroupSchema = z.object({
  id: z.string().uuid(),
  name: z.string(),
  project_id: z.string(),
  user_id: z.string(),
  policy: ServerGroupPolicy,
  /** Nova's `rules` (2.64): `max_server_per_host` for anti-affinity; 1 when absent. */
  rules: z.object({ max_server_per_host: z.number().int().positive().optional() }).default({}),
  /** Members joined at boot (quota server_group_members); kept in step with the member items. */
  member_count: z.number().int().default(0),
  created_at: z.string(),
});
export type ServerGroup = z.infer<typeof ServerGroupSchema>;

/** Where a group's members hold claims, as the scheduler reads it before placing one more. */
export interface GroupPlacement {
  group: ServerGroup;
  /** Members with a claim, by host (hosts whose count fell to 0 are absent). */
  hosts: Record<string, number>;
  /** The host of an affinity group while it has members placed; null otherwise. */
  affinityHost: string | null;
}

export const maxPerHost = (g: ServerGroup) => (g.policy === 'anti-affinity' ? (g.rules.max_server_per_host ?? 1) : Infinity);
