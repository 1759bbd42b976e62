import { z } from 'zod';

/** A host aggregate: hosts grouped with metadata; `availability_zone` in it makes an availability zone. */
export const AggregateSchema = z.object({
  id: z.number().int().positive(),
  uuid: z.string().uuid(),
  name: z.string(),
  availability_zone: z.string().nullable(),
  hosts: z.array(z.string()).default([]),
  /** Includes `availability_zone` when the aggregate has one, as Nova's does. */
  metadata: z.record(z.string(), z.string()).default({}),
  created_at: z.string(),
  updated_at: z.string().nullable(),
  version: z.number().int(),
});
export type Aggregate = z.infer<typeof AggregateSchema>;

/** The metadata of every aggregate a host is in, by key, as Nova's aggregate_metadata_get_by_host gathers it. */
export function metadataOfHost(aggregates: Aggregate[], host: string): Map<string, Set<string>> {
  const merged = new Map<string, Set<string>>();
  for (const a of aggregates.filter((a) => a.hosts.includes(host))) {
    for (const [k, v] of Object.entries(a.metadata)) {
      if (!merged.has(k)) merged.set(k, new Set());
      for (const part of v.split(',')) merged.get(k)!.add(part.trim());
    }
  }
  return merged;
}

/** The zone a host's aggregates give it (the first with one, by id), or null. */
export function aggregateZoneOf(aggregates: Aggregate[], host: string): string | null {
  return [...aggregates].sort((a, b) => a.id - b.id).find((a) => a.availability_zone && a.hosts.includes(host))?.availability_zone ?? null;
}
