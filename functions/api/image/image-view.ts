import type { Image } from '../../../shared/domain/image.js';

/** Glance shows times to the second: 2014-11-07T17:07:06Z. */
export const glanceTime = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');

/** An image as glance's v2 API shows it: extra properties flattened beside the base attributes. */
export function imageView(image: Image): Record<string, unknown> {
  return {
    ...image.properties,
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected,
    os_hidden: image.os_hidden,
    owner: image.owner,
    disk_format: image.disk_format,
    container_format: image.container_format,
    min_disk: image.min_disk,
    min_ram: image.min_ram,
    size: image.size,
    virtual_size: image.virtual_size,
    checksum: image.checksum,
    os_hash_algo: image.os_hash_algo,
    os_hash_value: image.os_hash_value,
    tags: image.tags,
    created_at: glanceTime(image.created_at),
    updated_at: glanceTime(image.updated_at),
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
  };
}
