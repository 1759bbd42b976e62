import type { Instance } from '../../../shared/domain/instance.js';
import { InstanceActionName, TaskState, VmState } from '../../../shared/domain/instance-states.js';
import { config } from '../../../shared/config.js';
import { Conflict } from '../../../shared/errors.js';
import { ConcurrentModification } from '../../../shared/domain/network/errors.js';
import { logger } from '../../../shared/logger.js';
import { deleteShelvedImage } from '../../../shared/storage/shelved-image.js';
import { sendDestroy, sendHostCommand } from '../../../shared/messages/host-commands.js';
import { cleanUpMoveOnDelete } from '../../../shared/moves/move-commands.js';
import { softDelete } from '../../../shared/store/deleted-instances.js';
import { newAction, recordAction } from '../../../shared/store/instance-actions.js';
import { deadlineFor, getInstance, removeInstance, updateInstance } from '../../../shared/store/instances.js';
import type { ApiRequest, ApiResponse } from '../http/types.js';
import { POWER_OFF_TIMEOUT_SECONDS } from './server-actions/server-power.js';
import { checkNotLocked, loadInstance } from './server-access.js';

/** A port changed while the delete released it (the build bound it): false, so the delete reads the instance again. */
function lostPortRace(err: unknown): false {
  if (err instanceof ConcurrentModification) return false;
  throw err;
}

const actionOf = (req: ApiRequest, instance: Instance, action: InstanceActionName) =>
  newAction({ instanceId: instance.id, action, requestId: req.requestId, userId: req.auth.user_id, projectId: req.auth.project_id });

/**
 * `DELETE /servers/{id}`: with a reclaim interval set, a server that ran on a host is soft-deleted
 * (Nova's soft_delete, which needs a launched instance); otherwise, or when it is soft-deleted
 * already, it is deleted for good.
 */
export async function deleteServer(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  checkNotLocked(req, instance);
  // As Nova: a shelved server's image goes with it.
  if (instance.shelved && (instance.vm_state === VmState.SHELVED || instance.vm_state === VmState.SHELVED_OFFLOADED)) await deleteShelvedImage(instance.shelved.image_id);
  const reclaimAfter = config().RECLAIM_INSTANCE_INTERVAL;
  const softDeletable = reclaimAfter > 0 && instance.launched_at && instance.claimed_host && instance.host && instance.vm_state !== VmState.SOFT_DELETED && !instance.move;
  if (softDeletable && instance.task_state !== TaskState.DELETING) return softDeleteServer(req, instance, reclaimAfter);
  return deleteForGood(req, instance);
}

/**
 * Deletes an instance: one that holds no host claim is removed here (its quota released in the
 * same transaction); otherwise it goes to task_state `deleting` and its host is told to destroy
 * the guest — the conductor removes it when the host confirms, the sweeper when the host is gone.
 */
export async function deleteForGood(req: ApiRequest, first: Instance): Promise<ApiResponse> {
  let instance: Instance | undefined = first;
  for (let attempt = 0; attempt < 5 && instance; attempt++) {
    if (instance.task_state === TaskState.DELETING) return { status: 204 };
    if (!instance.claimed_host) {
      // Recorded first: the removal expires the server's actions, this one with them.
      await recordAction(actionOf(req, instance, InstanceActionName.DELETE));
      // Its ports are released first; a build binding them at the same moment is a lost race, read again.
      if (await removeInstance(instance).catch(lostPortRace)) return { status: 204 };
    } else {
      const deleting = await updateInstance(instance, { task_state: TaskState.DELETING, task_deadline: deadlineFor(TaskState.DELETING) });
      if (deleting) {
        await recordAction(actionOf(req, deleting, InstanceActionName.DELETE));
        await sendDestroy(deleting.claimed_host!, deleting.id, req.requestId);
        if (deleting.move) await cleanUpMoveOnDelete({ ...deleting, move: deleting.move }, req.requestId);
        return { status: 204 };
      }
    }
    instance = await getInstance(instance.id);
  }
  if (!instance) return { status: 204 };
  throw new Conflict('The server was changed by another request at the same time; try again.');
}

/** Soft delete: SOFT_DELETED and out of the quota at once, then its host powers the guest off; the sweeper reclaims it later. */
async function softDeleteServer(req: ApiRequest, first: Instance, reclaimAfter: number): Promise<ApiResponse> {
  let instance: Instance | undefined = first;
  for (let attempt = 0; attempt < 5 && instance; attempt++) {
    const done = await softDelete(instance, actionOf(req, instance, InstanceActionName.SOFT_DELETE), reclaimAfter, deadlineFor(TaskState.SOFT_DELETING));
    if (done) {
      const command = { type: 'power_off', request_id: req.requestId, instance_id: done.id, timeout_sec: POWER_OFF_TIMEOUT_SECONDS, action: 'soft_delete' } as const;
      if (!(await sendHostCommand(done.host!, command))) logger.error('the instance host has no queue; the power-off will time out', { instance_id: done.id });
      return { status: 204 };
    }
    instance = await getInstance(instance.id);
    if (instance?.task_state === TaskState.DELETING || instance?.vm_state === VmState.SOFT_DELETED) return { status: 204 };
  }
  if (!instance) return { status: 204 };
  throw new Conflict('The server was changed by another request at the same time; try again.');
}
