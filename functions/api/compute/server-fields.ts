import { z } from 'zod';
import { BadRequest } from '../../../shared/errors.js';
import type { Microversion } from './microversion.js';

/**
 * The zod schemas of a server's fields as Nova's parameter_types give them, and the body of
 * `POST /servers` with the fields of every microversion (checkFieldsOfVersion refuses those the
 * request's version does not have). Update and rebuild take their fields from here too.
 */

const uuid = z.string().uuid();
const MetadataSchema = z.record(z.string().min(1).max(255), z.string().max(255));

/** Name of a server (Nova 2.1: 1–255 characters, no leading or trailing whitespace). */
export const ServerName = z.string().min(1).max(255).regex(/^\S(.*\S)?$/s, 'must not start or end with whitespace');

/** The addresses a user records for a server (Nova's `ipv4` and `ipv6` formats). */
export const AccessIPv4 = z.ipv4();
/** Stored in its canonical form, as Nova stores netaddr's (`0:0:0:0:0:babe:220.12.22.2` is `::babe:dc0c:1602`); the URL parser gives RFC 5952's. */
export const AccessIPv6 = z.ipv6().transform((ip) => new URL(`http://[${ip}]`).hostname.slice(1, -1));

/** A server's description (2.19): up to 255 printable characters, or null. */
export const ServerDescription = z
  .string()
  .max(255)
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
  .nullable();

/** Nova's device tag (2.32), also a server tag (2.26, 2.52): no ',' or '/', 1–60 characters. */
export const DeviceTag = z.string().min(1).max(60).regex(/^[^,/]*$/, "must not contain ',' or '/'");

/** Nova's `hostname` (2.90): letters, digits and dashes, 2–63, starting and ending with a letter or digit. */
export const Hostname = z.string().min(2).max(63).regex(/^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$/, 'is not a valid hostname');
/** Nova's `fqdn` (a host name; a hostname from 2.94): letters, digits, '-', '.', '_', 1–255. */
export const Fqdn = z.string().min(1).max(255).regex(/^[a-zA-Z0-9-._]*$/, 'is not a valid host name');

/** Nova's trusted_certs (2.63): 1–50 distinct non-empty ids, or null. */
export const TrustedCertificates = z
  .array(z.string().min(1))
  .min(1)
  .max(50)
  .refine((ids) => new Set(ids).size === ids.length, 'has non-unique elements')
  .nullable();

/** Files to inject (Nova's `personality`, removed in 2.57): accepted and not injected, as the metadata service has no `files`. */
export const Personality = z.array(z.strictObject({ path: z.string().max(255), contents: z.string().base64() }));
const NicSchema = z.strictObject({ uuid: z.string().optional(), fixed_ip: z.string().optional(), port: uuid.nullable().optional(), tag: DeviceTag.optional() });

/**
 * The body of `POST /servers`, with every field of every supported microversion (Nova rejects
 * unknown fields); `checkFieldsOfVersion` then refuses what the request's version does not have.
 */
export const CreateServerSchema = z.strictObject({
  server: z.strictObject({
    name: ServerName,
    description: ServerDescription.optional(),
    imageRef: z.string().min(1),
    flavorRef: z.union([z.string().min(1), z.number().int().positive()]).transform(String),
    key_name: z.string().min(1).max(255).optional(),
    metadata: MetadataSchema.optional(),
    user_data: z.string().max(65535).base64().optional(),
    availability_zone: z.string().min(1).max(255).optional(),
    networks: z.union([z.enum(['auto', 'none']), z.array(NicSchema)]).optional(),
    min_count: z.coerce.number().int().min(1).optional(),
    max_count: z.coerce.number().int().min(1).optional(),
    return_reservation_id: z.union([z.boolean(), z.enum(['True', 'False', 'true', 'false'])]).optional(),
    config_drive: z.union([z.boolean(), z.enum(['True', 'False', 'true', 'false', ''])]).optional(),
    security_groups: z.array(z.object({ name: z.string() })).optional(),
    adminPass: z.string().optional(),
    accessIPv4: AccessIPv4.optional(),
    accessIPv6: AccessIPv6.optional(),
    'OS-DCF:diskConfig': z.enum(['AUTO', 'MANUAL']).optional(),
    personality: Personality.optional(),
    tags: z.array(DeviceTag).max(50).optional(),
    trusted_image_certificates: TrustedCertificates.optional(),
    host: Fqdn.optional(),
    hypervisor_hostname: Fqdn.optional(),
    hostname: Fqdn.optional(),
  }),
  'OS-SCH-HNT:scheduler_hints': z.record(z.string(), z.unknown()).optional(),
  'os:scheduler_hints': z.record(z.string(), z.unknown()).optional(),
});
export type CreateServerBody = z.infer<typeof CreateServerSchema>['server'];

/** The version that brought each field of the create body (and, for `personality`, the one that took it away). */
const FIELD_VERSIONS: { field: keyof CreateServerBody; from?: string; until?: string }[] = [
  { field: 'description', from: '2.19' },
  { field: 'personality', until: '2.57' },
  { field: 'tags', from: '2.52' },
  { field: 'trusted_image_certificates', from: '2.63' },
  { field: 'host', from: '2.74' },
  { field: 'hypervisor_hostname', from: '2.74' },
  { field: 'hostname', from: '2.90' },
];

/**
 * What Nova's per-version create schemas allow: the fields of FIELD_VERSIONS; a NIC `tag` in 2.32
 * to 2.36 (2.37 dropped it by mistake, 2.42 brings it back); `networks` as 'auto' or 'none' from
 * 2.37, where it becomes required and a network `uuid` must be a uuid; `hostname` a fully
 * qualified name from 2.94.
 */
export function checkFieldsOfVersion(mv: Microversion, server: CreateServerBody): void {
  const unexpected = (field: string) => new BadRequest(`Invalid input for field/attribute server. Value: Additional properties are not allowed ('${field}' was unexpected)`);
  for (const { field, from, until } of FIELD_VERSIONS) {
    if (server[field] !== undefined && ((from && !mv.atLeast(from)) || (until && mv.atLeast(until)))) throw unexpected(field);
  }
  if (server.hostname !== undefined && !mv.atLeast('2.94') && !Hostname.safeParse(server.hostname).success) {
    throw new BadRequest(`Invalid input for field/attribute hostname. Value: ${server.hostname}. '${server.hostname}' does not match '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$'`);
  }
  const nics = Array.isArray(server.networks) ? server.networks : [];
  const nicTags = (mv.atLeast('2.32') && !mv.atLeast('2.37')) || mv.atLeast('2.42');
  if (nics.some((n) => n.tag !== undefined) && !nicTags) throw unexpected('tag');
  if (!mv.atLeast('2.37')) {
    if (typeof server.networks === 'string') throw new BadRequest(`Invalid input for field/attribute networks. Value: ${server.networks}. '${server.networks}' is not of type 'array'`);
    return;
  }
  if (server.networks === undefined) throw new BadRequest("Invalid input for field/attribute server. Value: 'networks' is a required property");
  const badUuid = nics.find((n) => n.uuid !== undefined && !uuid.safeParse(n.uuid).success);
  if (badUuid) throw new BadRequest(`Invalid input for field/attribute uuid. Value: ${badUuid.uuid}. '${badUuid.uuid}' is not a 'uuid'`);
}

