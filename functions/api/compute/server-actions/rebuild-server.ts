import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Image } from '../../../../shared/domain/image.js';
import type { Instance } from '../../../../shared/domain/instance.js';
import { imageMetaOf } from '../../../../shared/domain/instance.js';
import { InstanceActionName, TaskState, VmState } from '../../../../shared/domain/instance-states.js';
import { projectLimits } from '../../../../shared/store/quota-limits.js';
import { checkMetadataItems } from '../server-metadata.js';
import { BadRequest } from '../../../../shared/errors.js';
import { spawnCommandFor } from '../../../../shared/messages/host-commands.js';
import { getImage } from '../../../../shared/store/images.js';
import { json, validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { imageVisibleTo } from '../../image/image-policy.js';
import { AccessIPv4, AccessIPv6, Fqdn, Hostname, Personality, ServerDescription, ServerName, TrustedCertificates } from '../server-create.js';
import { standardImageProperties } from '../server-image-properties.js';
import { hostsOf, serverDetail, serverGroupsOf } from '../views/server-view.js';
import type { Microversion } from '../microversion.js';
import { getKeypair } from '../../../../shared/store/keypairs.js';
import { loadInstance } from '../server-access.js';
import { checkActionAllowed, startGuestTask } from './guest-task.js';
import type { ServerAction } from './server-action.js';

/** The `rebuild` body at microversion 2.1 (personality files are accepted and not injected). */
const RebuildFields = {
  imageRef: z.string().min(1),
  name: ServerName.optional(),
  metadata: z.record(z.string().min(1).max(255), z.string().max(255)).optional(),
  adminPass: z.string().optional(),
  accessIPv4: AccessIPv4.optional(),
  accessIPv6: AccessIPv6.optional(),
  'OS-DCF:diskConfig': z.enum(['AUTO', 'MANUAL']).optional(),
  preserve_ephemeral: z.boolean().optional(),
};
const RebuildSchema = z.strictObject({ ...RebuildFields, personality: Personality.optional() });
/** 2.19 adds `description`: a string, or null to remove it. */
const RebuildSchemaV219 = RebuildSchema.extend({ description: ServerDescription.optional() });
/** 2.54 adds `key_name` (null removes the key). */
const RebuildSchemaV254 = RebuildSchemaV219.extend({ key_name: z.string().min(1).max(255).nullable().optional() });
/** 2.57 drops `personality` and adds `user_data` (null removes it). */
const RebuildSchemaV257 = z.strictObject({
  ...RebuildFields,
  description: ServerDescription.optional(),
  key_name: z.string().min(1).max(255).nullable().optional(),
  user_data: z.string().max(65535).base64().nullable().optional(),
});
/** 2.63 adds `trusted_image_certificates` (null resets them). */
const RebuildSchemaV263 = RebuildSchemaV257.extend({ trusted_image_certificates: TrustedCertificates.optional() });
/** 2.90 adds `hostname`; 2.94 lets it be a fully qualified name. */
const RebuildSchemaV290 = RebuildSchemaV263.extend({ hostname: Hostname.optional() });
const RebuildSchemaV294 = RebuildSchemaV263.extend({ hostname: Fqdn.optional() });
type RebuildRequest = Partial<z.infer<typeof RebuildSchemaV294> & z.infer<typeof RebuildSchemaV219>>;

function rebuildSchemaOf(mv: Microversion) {
  if (mv.atLeast('2.94')) return RebuildSchemaV294;
  if (mv.atLeast('2.90')) return RebuildSchemaV290;
  if (mv.atLeast('2.63')) return RebuildSchemaV263;
  if (mv.atLeast('2.57')) return RebuildSchemaV257;
  if (mv.atLeast('2.54')) return RebuildSchemaV254;
  return mv.atLeast('2.19') ? RebuildSchemaV219 : RebuildSchema;
}

/** The key pair a 2.54 rebuild names (the caller's), or null to remove it; undefined to keep the server's. */
async function rebuildKeypair(req: ApiRequest, name: string | null | undefined) {
  if (name === undefined) return undefined;
  if (name === null) return null;
  const keypair = await getKeypair(req.auth.user_id, name);
  if (!keypair) throw new BadRequest('Invalid key_name provided.');
  return keypair;
}

/** The new image, checked as a boot image is (visible, active, fits the flavor), or 400. */
async function rebuildImage(req: ApiRequest, ref: string, instance: Instance): Promise<Image> {
  const id = ref.replace(/\/+$/, '').split('/').pop() ?? ref;
  const image = z.string().uuid().safeParse(id).success ? await getImage(id) : undefined;
  if (!image || !imageVisibleTo(image, req.auth)) throw new BadRequest(`Image ${ref} could not be found.`);
  if (image.status !== 'active') throw new BadRequest(`Image ${image.id} is not active.`);
  const minDisk = Math.max(image.min_disk ?? 0, Math.ceil((image.size ?? 0) / 1024 ** 3));
  if (instance.flavor.disk > 0 && instance.flavor.disk < minDisk) {
    throw new BadRequest(`Flavor's disk is too small for requested image. Flavor disk is ${instance.flavor.disk} GB, minimum is ${minDisk} GB.`);
  }
  if ((image.min_ram ?? 0) > instance.flavor.ram) throw new BadRequest("Flavor's memory is too small for requested image.");
  return image;
}

/**
 * `rebuild`: the same server on a fresh root disk from a new image. 202 with the server
 * (status REBUILD) and its admin password; the host's report makes it ACTIVE again (SHUTOFF if
 * it was stopped).
 */
async function rebuild(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  const request: RebuildRequest & { imageRef: string } = validate(rebuildSchemaOf(req.microversion), body);
  if (request.metadata) checkMetadataItems(request.metadata, await projectLimits(req.auth.project_id));
  // Checked before the image, so a server in a wrong state gets the 409 whatever the image.
  const image = await rebuildImage(req, request.imageRef, await loadForImageCheck(req));
  const keypair = await rebuildKeypair(req, request.key_name);
  const updated = await startGuestTask(req, {
    action: InstanceActionName.REBUILD,
    rule: 'rebuild',
    taskState: TaskState.REBUILDING,
    changes: () => ({
      image_ref: image.id,
      image_meta: imageMetaOf(image),
      image_properties: standardImageProperties(image),
      ...(keypair !== undefined ? { key_name: keypair?.name ?? null, key_data: keypair?.public_key ?? null } : {}),
      ...(request.user_data !== undefined ? { user_data: request.user_data } : {}),
      ...(request.trusted_image_certificates !== undefined ? { trusted_image_certificates: request.trusted_image_certificates } : {}),
      ...(request.hostname !== undefined ? { hostname: request.hostname } : {}),
      ...(request.name ? { name: request.name } : {}),
      ...(request.accessIPv4 !== undefined ? { access_ip_v4: request.accessIPv4 } : {}),
      ...(request.accessIPv6 !== undefined ? { access_ip_v6: request.accessIPv6 } : {}),
      ...(request.metadata ? { metadata: request.metadata } : {}),
      ...(request.description !== undefined ? { description: request.description } : {}),
    }),
    command: async (i, requestId) => ({
      type: 'rebuild',
      request_id: requestId,
      instance_id: i.id,
      guest: (await spawnCommandFor(i, requestId)).guest,
      power_on: i.vm_state !== VmState.STOPPED,
    }),
  });
  const adminPass = request.adminPass ?? randomUUID().replace(/-/g, '').slice(0, 12);
  const options = { changeResponse: true, rebuildResponse: true, hosts: await hostsOf(req, [updated]), serverGroups: await serverGroupsOf(req, updated) };
  return json(202, { server: { ...serverDetail(req, updated, options), adminPass } });
}

async function loadForImageCheck(req: ApiRequest): Promise<Instance> {
  const instance = await loadInstance(req);
  checkActionAllowed(req, instance, InstanceActionName.REBUILD, 'rebuild');
  return instance;
}

export const rebuildServerActions: ServerAction[] = [{ name: 'rebuild', handle: rebuild }];
