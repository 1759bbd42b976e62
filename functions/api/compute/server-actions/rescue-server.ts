import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ImageMeta } from '../../../../shared/domain/instance.js';
import { imageMetaOf } from '../../../../shared/domain/instance.js';
import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import { BadRequest } from '../../../../shared/errors.js';
import { getImage } from '../../../../shared/store/images.js';
import { json, validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { imageVisibleTo } from '../../image/image-policy.js';
import { loadInstance } from '../server-access.js';
import { checkActionAllowed, startGuestTask } from './guest-task.js';
import type { ServerAction } from './server-action.js';
import { POWER_OFF_TIMEOUT_SECONDS } from './server-power.js';

/** The `rescue` body (nova/api/openstack/compute/schemas/rescue.py): null, or a password and a rescue image. */
const RescueSchema = z.strictObject({ adminPass: z.string().optional(), rescue_image_ref: z.string().uuid().optional() }).nullable();

/** The image the rescue guest boots, given by id: one the caller sees, active; else Nova's UnsupportedRescueImage (400). */
async function rescueImage(req: ApiRequest, ref: string): Promise<ImageMeta> {
  const image = await getImage(ref);
  if (!image || !imageVisibleTo(image, req.auth) || image.status !== 'active') throw new BadRequest(`Requested rescue image '${ref}' is not supported`);
  return imageMetaOf(image);
}

/**
 * `rescue`: the guest boots a rescue image (the one named, or the server's own image) with the
 * server's disk attached as its second disk. 200 (Nova keeps it for compatibility) with the
 * admin password; the host's report makes it RESCUE, running, whether it ran before or not.
 */
async function rescue(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  const request = validate(RescueSchema, body) ?? {};
  // Nova checks lock and states before it looks at the image.
  const instance = await loadInstance(req);
  checkActionAllowed(req, instance, InstanceActionName.RESCUE, 'rescue');
  const image = request.rescue_image_ref ? await rescueImage(req, request.rescue_image_ref) : undefined;
  await startGuestTask(req, {
    action: InstanceActionName.RESCUE,
    rule: 'rescue',
    taskState: TaskState.RESCUING,
    command: (i, requestId) => ({ type: 'rescue', request_id: requestId, instance_id: i.id, rescue_image: image ?? i.image_meta, timeout_sec: POWER_OFF_TIMEOUT_SECONDS }),
  });
  // Not injected into the rescue guest (as for boot and rebuild): returned as Nova returns it.
  const adminPass = request.adminPass ?? randomUUID().replace(/-/g, '').slice(0, 12);
  return json(200, { adminPass });
}

/** `unrescue`: 202; the guest boots its own disk again, then ACTIVE. */
async function unrescue(req: ApiRequest): Promise<ApiResponse> {
  await startGuestTask(req, {
    action: InstanceActionName.UNRESCUE,
    rule: 'unrescue',
    taskState: TaskState.UNRESCUING,
    command: (i, requestId) => ({ type: 'unrescue', request_id: requestId, instance_id: i.id }),
  });
  return { status: 202 };
}

export const rescueServerActions: ServerAction[] = [
  { name: 'rescue', handle: rescue },
  { name: 'unrescue', handle: unrescue },
];
