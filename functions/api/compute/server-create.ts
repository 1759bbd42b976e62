import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { config } from '../../../shared/config.js';
import { zoneOf } from '../../../shared/domain/host.js';
import { imageMetaOf, type Instance } from '../../../shared/domain/instance.js';
import { TaskState, VmState } from '../../../shared/domain/instance-states.js';
import { enforceable, serverLimits, type ComputeLimits } from '../../../shared/domain/quota.js';
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
import { imageVisibleTo } from '../image/image-policy.js';
import { resourceLinks } from './links.js';
import { requestedDestination } from './requested-destination.js';
import { joinRefusal, requestedPlacement } from './scheduler-hints.js';
import { standardImageProperties } from './server-image-properties.js';
import { abortBuilds, needsVerification, signatureFailure } from './trusted-certificates.js';
import { flavorVisibleTo } from './policy.js';
import { allocatePorts, resolveNics, resolveSecurityGroups, type NicRequest } from './server-networks.js';

const uuid = z.string().uuid();

import { checkFieldsOfVersion, CreateServerSchema } from './server-fields.js';

// The field schemas live in server-fields.ts; re-exported for the modules that take them from here.
export { AccessIPv4, AccessIPv6, DeviceTag, Fqdn, Hostname, Personality, ServerDescription, ServerName, TrustedCertificates } from './server-fields.js';

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
