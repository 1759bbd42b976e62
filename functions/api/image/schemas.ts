import { ContainerFormatSchema, DiskFormatSchema, ImageStatusSchema, ImageVisibilitySchema } from '../../../shared/domain/image.js';
import { json } from '../http/body.js';
import type { ApiResponse, Route } from '../http/types.js';
import metadefSchemas from './metadef-schemas.json' with { type: 'json' };

/**
 * `GET /v2/schemas/{image,images,member,members}`: the JSON schemas glance serves, which
 * glanceclient (Horizon's image calls) reads before it builds any image or member model. They
 * are glance's own (glance/api/v2/images.py get_base_properties, etc/schema-image.json,
 * image_members._MEMBER_SCHEMA), with the enums of what this image API accepts. The metadata
 * definition namespace schemas are glance's (Zed) as its code builds them, in metadef-schemas.json.
 */

type JsonSchema = Record<string, unknown>;

const UUID_PATTERN = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

const nullableString = ['null', 'string'];
const readOnly = (type: unknown, description: string, extra: JsonSchema = {}) => ({ type, readOnly: true, description, ...extra });

/** glance's base image properties (get_base_properties). */
function baseImageProperties(): Record<string, JsonSchema> {
  return {
    id: { type: 'string', description: 'An identifier for the image', pattern: UUID_PATTERN },
    name: { type: nullableString, description: 'Descriptive name for the image', maxLength: 255 },
    status: readOnly('string', 'Status of the image', { enum: ImageStatusSchema.options }),
    visibility: { type: 'string', description: 'Scope of image accessibility', enum: ImageVisibilitySchema.options },
    protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
    os_hidden: { type: 'boolean', description: 'If true, image will not appear in default image list response.' },
    checksum: readOnly(nullableString, 'md5 hash of image contents.', { maxLength: 32 }),
    os_hash_algo: readOnly(nullableString, 'Algorithm to calculate the os_hash_value', { maxLength: 64 }),
    os_hash_value: readOnly(nullableString, 'Hexdigest of the image contents using the algorithm specified by the os_hash_algo', { maxLength: 128 }),
    owner: { type: nullableString, description: 'Owner of the image', maxLength: 255 },
    size: readOnly(['null', 'integer'], 'Size of image file in bytes'),
    virtual_size: readOnly(['null', 'integer'], 'Virtual size of image in bytes'),
    container_format: { type: nullableString, description: 'Format of the container', enum: [null, ...ContainerFormatSchema.options] },
    disk_format: { type: nullableString, description: 'Format of the disk', enum: [null, ...DiskFormatSchema.options] },
    created_at: readOnly('string', 'Date and time of image registration'),
    updated_at: readOnly('string', 'Date and time of the last image modification'),
    tags: { type: 'array', description: 'List of strings related to the image', items: { type: 'string', maxLength: 255 } },
    direct_url: readOnly('string', 'URL to access the image file kept in external store'),
    min_ram: { type: 'integer', description: 'Amount of ram (in MB) required to boot image.' },
    min_disk: { type: 'integer', description: 'Amount of disk space (in GB) required to boot image.' },
    self: readOnly('string', 'An image self url'),
    file: readOnly('string', 'An image file url'),
    stores: readOnly(
      'string',
      'Store in which image data resides.  Only present when the operator has enabled multiple stores.  May be a comma-separated list of store identifiers.',
    ),
    schema: readOnly('string', 'An image schema url'),
    locations: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          url: { type: 'string', maxLength: 255 },
          metadata: { type: 'object' },
          validation_data: {
            description:
              "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
            type: 'object',
            writeOnly: true,
            additionalProperties: false,
            properties: {
              checksum: { type: 'string', minLength: 32, maxLength: 32 },
              os_hash_algo: { type: 'string', maxLength: 64 },
              os_hash_value: { type: 'string', maxLength: 128 },
            },
            required: ['os_hash_algo', 'os_hash_value'],
          },
        },
        required: ['url', 'metadata'],
      },
      description: 'A set of URLs to access the image file kept in external store',
    },
  };
}

/** The custom properties glance ships in /etc/glance/schema-image.json, marked `is_base: false` as glance marks them. */
function customImageProperties(): Record<string, JsonSchema> {
  const custom: Record<string, JsonSchema> = {
    kernel_id: {
      type: nullableString,
      pattern: UUID_PATTERN,
      description: 'ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.',
    },
    ramdisk_id: {
      type: nullableString,
      pattern: UUID_PATTERN,
      description: 'ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.',
    },
    instance_uuid: {
      type: 'string',
      description:
        'Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)',
    },
    architecture: {
      description: 'Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html',
      type: 'string',
    },
    os_distro: {
      description:
        'Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html',
      type: 'string',
    },
    os_version: { description: 'Operating system version as specified by the distributor.', type: 'string' },
    description: { description: 'A human-readable string describing this image.', type: 'string' },
    cinder_encryption_key_id: {
      description:
        'Identifier in the OpenStack Key Management Service for the encryption key for the Block Storage Service to use when mounting a volume created from this image',
      type: 'string',
    },
    cinder_encryption_key_deletion_policy: {
      description:
        "States the condition under which the Image Service will delete the object associated with the 'cinder_encryption_key_id' image property.  If this property is missing, the Image Service will take no action",
      type: 'string',
      enum: ['on_image_deletion', 'do_not_delete'],
    },
  };
  return Object.fromEntries(Object.entries(custom).map(([name, schema]) => [name, { ...schema, is_base: false }]));
}

/** glance's image schema: permissive (extra properties are strings), with its links. */
export function imageSchema(): JsonSchema {
  return {
    name: 'image',
    properties: { ...baseImageProperties(), ...customImageProperties() },
    additionalProperties: { type: 'string' },
    links: [
      { rel: 'self', href: '{self}' },
      { rel: 'enclosure', href: '{file}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

export function imagesSchema(): JsonSchema {
  return {
    name: 'images',
    properties: {
      images: { type: 'array', items: imageSchema() },
      first: { type: 'string' },
      next: { type: 'string' },
      schema: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

const memberProperties = (): Record<string, JsonSchema> => ({
  member_id: { type: 'string', description: 'An identifier for the image member (tenantId)' },
  image_id: { type: 'string', description: 'An identifier for the image', pattern: UUID_PATTERN },
  created_at: { type: 'string', description: 'Date and time of image member creation' },
  updated_at: { type: 'string', description: 'Date and time of last modification of image member' },
  status: { type: 'string', description: 'The status of this image member', enum: ['pending', 'accepted', 'rejected'] },
  schema: { readOnly: true, type: 'string' },
});

/** glance serves the member schemas "minimal": without additionalProperties and links. */
export const memberSchema = (): JsonSchema => ({ name: 'member', properties: memberProperties() });

/** As glance's CollectionSchema.minimal() has it: `members` typed as an object of members. */
export const membersSchema = (): JsonSchema => ({
  name: 'members',
  properties: { members: { type: 'object', additionalProperties: memberSchema() }, schema: { type: 'string' } },
  links: [{ rel: 'describedby', href: '{schema}' }],
});

const serve =
  (schema: () => JsonSchema) =>
  async (): Promise<ApiResponse> =>
    json(200, schema());

export const imageSchemaRoutes: Route[] = [
  { method: 'GET', path: '/image/v2/schemas/image', service: 'image', handler: serve(imageSchema) },
  { method: 'GET', path: '/image/v2/schemas/images', service: 'image', handler: serve(imagesSchema) },
  { method: 'GET', path: '/image/v2/schemas/member', service: 'image', handler: serve(memberSchema) },
  { method: 'GET', path: '/image/v2/schemas/members', service: 'image', handler: serve(membersSchema) },
  { method: 'GET', path: '/image/v2/schemas/metadefs/namespace', service: 'image', handler: serve(() => metadefSchemas.namespace) },
  { method: 'GET', path: '/image/v2/schemas/metadefs/namespaces', service: 'image', handler: serve(() => metadefSchemas.namespaces) },
];
