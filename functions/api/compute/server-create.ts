import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { config } from '../../../shared/config.js';
import { zoneOf } from '../../../shared/domain/host.js';
import { imageMetaOf, type Instance } from '../../../shared/domain/instance.js';
import { TaskState, VmState } from '../../../shared/domain/instance-states.js';
import { enforceable, type ComputeLimits } from '../../../shared/domain/quota.js';
import { projectLimits, userLimits } from '../../../shared/store/quota-limits.js';
import { checkMetadataItems } from './server-metadata.js';
import { BadRequest, QuotaExceeded } from '../../../shared/errors.js';
import { SchedulerMessageSchema } from '../../../shared/messages/scheduler.js';
import { sendMessage } from '../../../shared/messages/send.js';
import { getFlavor } from '../../../shared/store/flavors.js';
import { getImage } from '../../../shared/store/images.js';
import { listHosts } from '../../../shared/store/hosts.js';
import { createInstances, deadlineFor, getQuotaUsage, QuotaExceededError } from '../../../shared/store/instances.js';
import { getKeypair } from '../../../shared/store/keypairs.js';
import { joinGroupItems } from '../../../shared/store/server-groups.js';
import { getSecurityGroup } from '../../../shared/store/network/security-groups.js';
import { newAction, recordAction } from '../../../shared/store/instance-actions.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse } from '../http/types.js';
import type { Microversion } from './microversion.js';
import { imageVisibleTo } from '../image/image-policy.js';
import { resourceLinks } from './links.js';
import { requestedDestination } from './requested-destination.js';
import { joinRefusal, requestedPlacement } from './scheduler-hints.js';
import { standardImageProperties } from './server-image-properties.js';
import { abortBuilds, needsVerification, signatureFailure } from './trusted-certificates.js';
import { flavorVisibleTo } from './policy.js';
import { allocatePorts, resolveNics, resolveSecurityGroups, type NicRequest } from './server-networks.js';

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
const CreateServerSchema = z.strictObject({
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
type CreateServerBody = z.infer<typeof CreateServerSchema>['server'];

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
function checkFieldsOfVersion(mv: Microversion, server: CreateServerBody): void {
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

const truthy = (v: boolean | string | undefined) => v === true || v === 'True' || v === 'true';
const lastPathSegment = (ref: string) => ref.replace(/\/+$/, '').split('/').pop() ?? ref;

/** Nova's hostname from a display name: lower-case letters, digits and dashes, at most 63. */
export function hostnameOf(name: string): string {
  const h = name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 63);
  return h || 'server';
}

/**
 * `POST /servers`: validate everything that can be validated here, write the instances and
 * their quota in one transaction (nothing is left behind on failure), then queue one build
 * request per instance for the scheduler. 202 with the first server, or the reservation id.
 */
export async function createServer(req: ApiRequest): Promise<ApiResponse> {
  const body = parseBody(req, CreateServerSchema);
  const { server } = body;
  checkFieldsOfVersion(req.microversion, server);
  const rawHints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'];
  const placement = await requestedPlacement(req, rawHints, server.availability_zone);
  const { group } = placement;
  const requestedHost = await requestedDestination(req, server, placement.forcedHost);
  const limits = await userLimits(req.auth.project_id, req.auth.user_id);
  const projectQuota = await projectLimits(req.auth.project_id);
  if (server.metadata) checkMetadataItems(server.metadata, limits);
  const minCount = server.min_count ?? 1;
  const maxCount = server.max_count ?? minCount;
  if (minCount > maxCount) throw new BadRequest('min_count must be <= max_count');
  if (server.hostname && maxCount > 1) throw new BadRequest('Unable to allocate a single hostname to multiple instances');

  const flavor = await getFlavor(lastPathSegment(server.flavorRef));
  if (!flavor || flavor.disabled || !(await flavorVisibleTo(flavor, req.auth))) {
    throw new BadRequest(`Flavor ${server.flavorRef} could not be found.`);
  }
  const imageId = lastPathSegment(server.imageRef);
  const image = uuid.safeParse(imageId).success ? await getImage(imageId) : undefined;
  if (!image || !imageVisibleTo(image, req.auth)) throw new BadRequest(`Image ${server.imageRef} could not be found.`);
  if (image.status !== 'active') throw new BadRequest(`Image ${image.id} is not active.`);
  const imageMinDisk = Math.max(image.min_disk ?? 0, Math.ceil((image.size ?? 0) / 1024 ** 3));
  if (flavor.disk > 0 && flavor.disk < imageMinDisk) {
    throw new BadRequest(`Flavor's disk is too small for requested image. Flavor disk is ${flavor.disk} GB, minimum is ${imageMinDisk} GB.`);
  }
  if ((image.min_ram ?? 0) > flavor.ram) throw new BadRequest("Flavor's memory is too small for requested image.");
  checkNoAccelerators(flavor.extra_specs);

  const keypair = server.key_name ? await getKeypair(req.auth.user_id, server.key_name) : undefined;
  if (server.key_name && !keypair) throw new BadRequest('Invalid key_name provided.');
  if (placement.zone) await checkZone(placement.zone);
  const nics = await resolveNics(req.auth, server.networks, maxCount);
  const securityGroupIds = await resolveSecurityGroups(req.auth.project_id, server.security_groups);
  // Shown by name, as Nova reads them back from Neutron (the CLI sends ids).
  const securityGroupNames = await Promise.all(securityGroupIds.map(async (id) => (await getSecurityGroup(id))?.name ?? id));

  const count = await instancesToCreate(req.auth.project_id, limits, flavor, minCount, maxCount);
  const reservationId = `r-${randomUUID().slice(0, 8)}`;
  const now = new Date().toISOString();
  const instances: Instance[] = Array.from({ length: count }, (_, k): Instance => {
    const name = count > 1 ? `${server.name}-${k + 1}` : server.name;
    return {
      id: randomUUID(),
      name,
      description: server.description ?? null,
      tags: [...new Set(server.tags ?? [])],
      hostname: server.hostname ?? hostnameOf(name),
      project_id: req.auth.project_id,
      user_id: req.auth.user_id,
      image_ref: image.id,
      image_meta: imageMetaOf(image),
      flavor: { id: flavor.id, name: flavor.name, vcpus: flavor.vcpus, ram: flavor.ram, disk: flavor.disk, ephemeral: flavor.ephemeral, swap: flavor.swap, extra_specs: flavor.extra_specs },
      key_name: keypair?.name ?? null,
      key_data: keypair?.public_key ?? null,
      metadata: server.metadata ?? {},
      user_data: server.user_data ?? null,
      config_drive: truthy(server.config_drive),
      availability_zone: placement.zone ?? null,
      scheduler_hints: placement.hints,
      forced_host: placement.forcedHost,
      requested_host: requestedHost,
      requested_scheduler_hints: hintsAsLists(rawHints),
      pinned_availability_zone: placement.zone ?? null,
      image_properties: standardImageProperties(image),
      trusted_image_certificates: server.trusted_image_certificates?.length ? server.trusted_image_certificates : null,
      locked_reason: null,
      access_ip_v4: server.accessIPv4 ?? '',
      access_ip_v6: server.accessIPv6 ?? '',
      requested_networks: requestedNetworks(nics),
      addresses: {},
      device_tags: {},
      server_group_id: group?.id ?? null,
      security_groups: securityGroupNames,
      vm_state: VmState.BUILDING,
      task_state: TaskState.SCHEDULING,
      power_state: 0,
      host: null,
      claimed_host: null,
      launch_index: k,
      reservation_id: reservationId,
      locked: false,
      fault: null,
      attempted_hosts: [],
      task_deadline: deadlineFor(TaskState.SCHEDULING),
      version: 1,
      created_at: now,
      updated_at: now,
      launched_at: null,
    };
  });

  // The ports first (they may be refused: an address taken, the port quota); if the servers are
  // then refused (their quota), the ports go again.
  const ports = await allocatePorts(instances, nics, securityGroupIds);
  for (const i of instances) {
    i.addresses = ports.addresses.get(i.id) ?? {};
    i.device_tags = ports.deviceTags.get(i.id) ?? {};
  }
  try {
    const serverLimits = (l: ComputeLimits) => ({ instances: enforceable(l.instances), cores: enforceable(l.cores), ram: enforceable(l.ram) });
    const joins = group ? joinGroupItems(group.id, instances, enforceable(limits.server_group_members)) : [];
    await createInstances(instances, serverLimits(projectQuota), joins, serverLimits(limits));
  } catch (err) {
    await ports.release();
    if (err instanceof QuotaExceededError) throw new QuotaExceeded(err.message);
    throw group ? await joinRefusal(err, group) : err;
  }
  await Promise.all(
    instances.map((i) =>
      recordAction(newAction({ instanceId: i.id, action: 'create', requestId: req.requestId, userId: req.auth.user_id, projectId: req.auth.project_id }, now)),
    ),
  );
  if (needsVerification(instances[0])) {
    await abortBuilds(instances, signatureFailure(image), req.requestId, now);
  } else {
    await Promise.all(
      instances.map((i) =>
        sendMessage(config().SCHEDULER_QUEUE_URL, SchedulerMessageSchema, { type: 'build', request_id: req.requestId, instance_id: i.id }),
      ),
    );
  }

  if (truthy(server.return_reservation_id)) return json(202, { reservation_id: reservationId });
  const first = instances[0];
  return json(202, {
    server: {
      id: first.id,
      links: resourceLinks(req, 'servers', first.id),
      'OS-DCF:diskConfig': 'MANUAL',
      security_groups: first.security_groups.map((name) => ({ name })),
      adminPass: server.adminPass ?? randomUUID().replace(/-/g, '').slice(0, 12),
    },
  });
}

/**
 * As Nova: create as many as the quota leaves room for between min_count and max_count. The
 * transaction in createInstances still enforces the quota if a parallel create took the room.
 */
async function instancesToCreate(projectId: string, limits: ComputeLimits, flavor: { vcpus: number; ram: number }, min: number, max: number): Promise<number> {
  if (min === max) return max;
  const used = await getQuotaUsage(projectId);
  const room = Math.min(
    enforceable(limits.instances) - used.instances,
    Math.floor((enforceable(limits.cores) - used.cores) / Math.max(flavor.vcpus, 1)),
    Math.floor((enforceable(limits.ram) - used.ram) / Math.max(flavor.ram, 1)),
  );
  return Math.max(min, Math.min(max, room));
}

/** The hints as Nova's RequestSpec keeps them: each value a list. */
function hintsAsLists(hints: Record<string, unknown> | undefined): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(hints ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
}

/**
 * A flavor that asks for accelerators (`accel:device_profile`, 2.72's Cyborg device profiles):
 * Nova asks Cyborg for the profile, and a cloud without Cyborg answers Nova's DeviceProfileError.
 */
function checkNoAccelerators(extraSpecs: Record<string, string>): void {
  const profile = extraSpecs['accel:device_profile'];
  if (profile) throw new BadRequest(`Device profile name ${profile}: Could not communicate with Cyborg.`);
}

/** The networks a server was booted on, for its record: ids, or 'none'. */
function requestedNetworks(nics: NicRequest[]): Instance['requested_networks'] {
  return nics.length ? nics.map((n) => n.network.id) : 'none';
}

async function checkZone(zone: string): Promise<void> {
  const zones = new Set((await listHosts()).map(zoneOf));
  if (!zones.has(zone)) throw new BadRequest(`The requested availability zone is not available`);
}
