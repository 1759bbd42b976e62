import { z } from 'zod';

/** The only domain there is. Keystone's bootstrap creates it with these values. */
export const DEFAULT_DOMAIN = { id: 'default', name: 'Default' } as const;

/** How requests name a domain: by id or by name. */
export const DomainRefSchema = z.object({ id: z.string().optional(), name: z.string().optional() });
export type DomainRef = z.infer<typeof DomainRefSchema>;

/** Does a domain given by id or name (names compare case-insensitively, as keystone's SQL does) mean the Default domain? */
export function isDefaultDomain(ref: DomainRef): boolean {
  if (ref.id !== undefined) return ref.id === DEFAULT_DOMAIN.id;
  return ref.name?.toLowerCase() === DEFAULT_DOMAIN.name.toLowerCase();
}
