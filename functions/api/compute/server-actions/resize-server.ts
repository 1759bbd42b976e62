import { z } from 'zod';
import { config } from '../../../../shared/config.js';
import { isHostUp } from '../../../../shared/domain/host.js';
import type { FlavorSnapshot, Instance } from '../../../../shared/domain/instance.js';
import { InstanceActionName } from '../../../../shared/domain/instance-states.js';
import { BadRequest, Conflict } from '../../../../shared/errors.js';
import { awaitsConfirmation, startConfirm, startRevert } from '../../../../shared/moves/confirm-revert.js';
import { getFlavor } from '../../../../shared/store/flavors.js';
import { getHost } from '../../../../shared/store/hosts.js';
import { getMigration } from '../../../../shared/store/migrations.js';
import { validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { flavorVisibleTo } from '../policy.js';
import { loadInstance } from '../server-access.js';
import { checkActionAllowed } from './guest-task.js';
import { startMove } from './resize-start.js';
import type { ServerAction } from './server-action.js';

/** Nova's resize body: `flavorRef` (a string or an integer), and the disk config it accepts and ignores here. */
const ResizeSchema = z.strictObject({
  flavorRef: z.union([z.string().min(1).max(255), z.number().int()]).transform(String),
  'OS-DCF:diskConfig': z.enum(['AUTO', 'MANUAL']).optional(),
});

/** The flavor a resize asks for, checked as Nova's compute API resize checks it (each a 400). */
async function resizeFlavor(req: ApiRequest, ref: string, i: Instance): Promise<FlavorSnapshot> {
  const id = ref.replace(/\/+$/, '').split('/').pop() ?? ref;
  const flavor = await getFlavor(id);
  if (!flavor || !(await flavorVisibleTo(flavor, req.auth)) || (flavor.disabled && flavor.id !== i.flavor.id)) throw new BadRequest(`Flavor ${ref} could not be found.`);
  if (flavor.id === i.flavor.id) throw new BadRequest('When resizing, instances must change flavor!');
  if (flavor.disk === 0 && i.flavor.disk !== 0) throw new BadRequest('Server disk was unable to be resized because: Resize to zero disk flavor is not allowed.');
  const { id: fid, name, vcpus, ram, disk, ephemeral, swap, extra_specs } = flavor;
  return { id: fid, name, vcpus, ram, disk, ephemeral, swap, extra_specs };
}

/** `resize`: 202; RESIZE until the destination runs it, then VERIFY_RESIZE. */
async function resize(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  const { flavorRef } = validate(ResizeSchema, body);
  await startMove(req, { action: InstanceActionName.RESIZE, newFlavor: (i) => resizeFlavor(req, flavorRef, i) });
  return { status: 202 };
}

/** The server in VERIFY_RESIZE and its finished migration, or Nova's 409 (state) and 400 (no migration). */
async function resizedServer(req: ApiRequest, action: typeof InstanceActionName.CONFIRM_RESIZE | typeof InstanceActionName.REVERT_RESIZE) {
  const instance = await loadInstance(req);
  checkActionAllowed(req, instance, action, action);
  const migration = instance.move ? await getMigration(instance.move.migration_id) : undefined;
  if (!migration || !awaitsConfirmation(instance, migration)) throw new BadRequest('Instance has not been resized.');
  return { instance, migration };
}

const requester = (req: ApiRequest) => ({ requestId: req.requestId, userId: req.auth.user_id, projectId: req.auth.project_id });
const changedMeanwhile = () => new Conflict('The server was changed by another request at the same time; try again.');

/** `confirmResize`: 204 (Nova's, kept for compatibility); the source drops its copy and claim, then ACTIVE (SHUTOFF if it was stopped). */
async function confirmResize(req: ApiRequest): Promise<ApiResponse> {
  const { instance, migration } = await resizedServer(req, InstanceActionName.CONFIRM_RESIZE);
  // As Nova: the source must be up to drop its copy (the confirm could not complete otherwise).
  const source = await getHost(instance.move.source_host);
  if (!source || !isHostUp(source, config().SERVICE_DOWN_TIME)) throw new Conflict('Service is unavailable at this time.');
  if (!(await startConfirm(instance, migration, requester(req)))) throw changedMeanwhile();
  return { status: 204 };
}

/** `revertResize`: 202; REVERT_RESIZE, then the old flavor on the source host again. */
async function revertResize(req: ApiRequest): Promise<ApiResponse> {
  const { instance, migration } = await resizedServer(req, InstanceActionName.REVERT_RESIZE);
  if (!(await startRevert(instance, migration, requester(req)))) throw changedMeanwhile();
  return { status: 202 };
}

export const resizeServerActions: ServerAction[] = [
  { name: 'resize', handle: resize },
  { name: 'confirmResize', handle: confirmResize },
  { name: 'revertResize', handle: revertResize },
];
