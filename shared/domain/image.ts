import { z } from 'zod';
import { imageObjectPrefix } from '../resources.js';

/** Glance's disk formats (glance-api.conf [image_format] disk_formats default). */
export const DiskFormatSchema = z.enum(['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']);
export const ContainerFormatSchema = z.enum(['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed']);
export const ImageVisibilitySchema = z.enum(['public', 'private', 'shared', 'community']);
/** Glance's image states; novaless moves images through queued → saving → active only. */
export const ImageStatusSchema = z.enum([
  'queued',
  'saving',
  'active',
  'killed',
  'deleted',
  'pending_delete',
  'deactivated',
  'uploading',
  'importing',
]);

export type DiskFormat = z.infer<typeof DiskFormatSchema>;
export type ImageVisibility = z.infer<typeof ImageVisibilitySchema>;
export type ImageStatus = z.infer<typeof ImageStatusSchema>;

/** An image as stored (the table item without its keys). Its bytes are the object `imageObjectKey(id)`. */
export const ImageSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  /** The project that owns it. */
  owner: z.string(),
  status: ImageStatusSchema,
  visibility: ImageVisibilitySchema,
  protected: z.boolean(),
  os_hidden: z.boolean(),
  disk_format: DiskFormatSchema.nullable(),
  container_format: ContainerFormatSchema.nullable(),
  min_disk: z.number().int().nonnegative(),
  min_ram: z.number().int().nonnegative(),
  /** Bytes of image data; null until uploaded. */
  size: z.number().int().nonnegative().nullable(),
  /** Bytes of the disk the image holds (qcow2's virtual size), when known. */
  virtual_size: z.number().int().nonnegative().nullable(),
  /** md5 hex of the data. */
  checksum: z.string().nullable(),
  os_hash_algo: z.string().nullable(),
  os_hash_value: z.string().nullable(),
  tags: z.array(z.string()),
  /** Glance's "extra properties": free-form string key/values shown at the top level of the API view. */
  properties: z.record(z.string(), z.string()),
  created_at: z.string(),
  updated_at: z.string(),
  /** Bumped by every write; writes are conditional on it. */
  version: z.number().int(),
  /** While `saving` data that came through the public front: which upload claimed the image (not shown by the API). */
  upload_id: z.string().optional(),
});
export type Image = z.infer<typeof ImageSchema>;

/** Key of an image's bytes in the image bucket (config().IMAGE_BUCKET). */
export const imageObjectKey = (imageId: string) => `${imageObjectPrefix}${imageId}`;
