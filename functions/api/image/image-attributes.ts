import { z } from 'zod';
import { ContainerFormatSchema, DiskFormatSchema, ImageVisibilitySchema } from '../../../shared/domain/image.js';
import { Forbidden, RequestTooLarge } from '../../../shared/errors.js';

/** Set by the service only; a client that names one gets 403 "is read-only", as from glance. */
const READ_ONLY = new Set([
  'created_at',
  'updated_at',
  'status',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'size',
  'virtual_size',
  'direct_url',
  'self',
  'file',
  'schema',
  'locations',
  'id',
]);
const RESERVED = new Set(['location', 'deleted', 'deleted_at']);
/** Glance reserves this namespace of property names for itself. */
const RESERVED_PREFIX = 'os_glance';

/** Glance's image_property_quota and image_tag_quota defaults. */
export const MAX_PROPERTIES = 128;
export const MAX_TAGS = 128;

/** The attributes a client may set (on create, and through a patch). Everything else is an extra property. */
export const WritableAttributesSchema = z.object({
  name: z.string().max(255).nullable(),
  visibility: ImageVisibilitySchema,
  protected: z.boolean(),
  os_hidden: z.boolean(),
  disk_format: DiskFormatSchema.nullable(),
  container_format: ContainerFormatSchema.nullable(),
  min_disk: z.number().int().nonnegative(),
  min_ram: z.number().int().nonnegative(),
  tags: z.array(z.string().min(1).max(255)),
  owner: z.string().min(1).max(255),
});
export type WritableAttributes = z.infer<typeof WritableAttributesSchema>;

export const WRITABLE = new Set(Object.keys(WritableAttributesSchema.shape));

/** Extra properties are strings, as glance's schema has it (additionalProperties: string). */
export const ExtraPropertiesSchema = z.record(z.string().min(1).max(255), z.string().max(65535));

/**
 * Rejects a name a client may not set: 403 for read-only and reserved names, as glance does.
 * `id` may be given on create only.
 */
export function assertSettable(name: string, { creating = false } = {}): void {
  if (creating && name === 'id') return;
  if (READ_ONLY.has(name)) throw new Forbidden(`Attribute '${name}' is read-only.`);
  if (RESERVED.has(name) || name.startsWith(RESERVED_PREFIX)) throw new Forbidden(`Attribute '${name}' is reserved.`);
}

export function assertWithinQuotas(tags: string[], properties: Record<string, string>): void {
  if (tags.length > MAX_TAGS) throw new RequestTooLarge(`Maximum number of tags exceeded (${MAX_TAGS}).`);
  if (Object.keys(properties).length > MAX_PROPERTIES) {
    throw new RequestTooLarge(`Attempted to add more image properties than the ${MAX_PROPERTIES} allowed.`);
  }
}

/** Glance keeps tags as a set: duplicates collapse, order of first appearance stays. */
export const uniqueTags = (tags: string[]) => [...new Set(tags)];
