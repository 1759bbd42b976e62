import { config } from '../../shared/config.js';
import { isHostUp } from '../../shared/domain/host.js';
import type { Instance } from '../../shared/domain/instance.js';
import { TaskState, VmState } from '../../shared/domain/instance-states.js';
import { logger } from '../../shared/logger.js';
import { sendDestroy } from '../../shared/messages/host-commands.js';
import { getHost } from '../../shared/store/hosts.js';
import { latestTaskAction } from '../../shared/store/instance-actions.js';
import { claimRelease, deadlineFor, listOverdueInstances, removeInstance, transact, updateInstance, versionedUpdate } from '../../shared/store/instances.js';
import { discardSnapshot } from '../../shared/storage/snapshot-image.js';
import { autoConfirmResizes, isMoveTask, timeOutMove } from './move-deadlines.js';
import { sweepShelved } from './shelved.js';

/**
 * Every task state has a deadline (shared/store/instances.ts). Past it, the instance goes to
 * ERROR with a fault that says which task timed out, or a delete whose host is gone or down
 * is completed here, and a snapshot that timed out is abandoned. Each change is conditional on the version read, so a report that lands
 * at the same moment wins or loses cleanly.
 */
export async function sweepOverdueInstances(now = new Date()): Promise<SweepResult> {
  const overdue = await listOverdueInstances(now.toISOString());
  let errored = 0;
  let deleted = 0;
  let reclaimed = 0;
  for (const instance of overdue) {
    if (instance.vm_state === VmState.SOFT_DELETED && instance.task_state !== TaskState.DELETING) {
      if (await reclaimOrEndPowerOff(instance)) reclaimed++;
      continue;
    }
    if (instance.task_state === TaskState.DELETING && !(await hostIsAlive(instance))) {
      if (await removeInstance(instance)) {
        deleted++;
        logger.warn('completed a delete whose host is gone', { instance_id: instance.id, host: instance.host });
      }
      continue;
    }
    if (await sweepShelved(instance)) continue;
    if (isMoveTask(instance)) {
      if (await timeOutMove(instance)) errored++;
      continue;
    }
    if (SNAPSHOT_TASKS.has(instance.task_state)) {
      await abandonSnapshot(instance);
      continue;
    }
    if (await timeOut(instance)) errored++;
  }
  const confirmed = await autoConfirmResizes(now);
  return { errored, deleted, reclaimed, confirmed };
}

export type SweepResult = {
  errored: number;
  deleted: number;
  /** Soft-deleted instances whose reclaim time came (Nova's _reclaim_queued_deletes). */
  reclaimed: number;
  /** Resizes confirmed once resize_confirm_window passed (Nova's _poll_unconfirmed_resizes). */
  confirmed: number;
};

/**
 * A soft-deleted instance's deadline is first its power-off's (a host that never answered: the
 * task ends, the guest stays as it is) and then the time it is reclaimed: deleted for good, as
 * any delete (its host destroys the guest; a host that is gone leaves the removal to here).
 */
async function reclaimOrEndPowerOff(instance: Instance): Promise<boolean> {
  if (instance.task_state === TaskState.SOFT_DELETING) {
    await updateInstance(instance, { task_state: null, task_deadline: instance.reclaim_at ?? new Date().toISOString() });
    logger.warn('soft delete: the host did not confirm the power-off in time', { instance_id: instance.id, host: instance.host });
    return false;
  }
  if (!(await hostIsAlive(instance))) return removeInstance(instance);
  const deleting = await updateInstance(instance, { task_state: TaskState.DELETING, task_deadline: deadlineFor(TaskState.DELETING) });
  if (!deleting) return false;
  logger.info('reclaiming a soft-deleted instance', { instance_id: instance.id, host: instance.host, deleted_at: instance.deleted_at });
  await sendDestroy(instance.claimed_host ?? instance.host!, instance.id);
  return true;
}

const SNAPSHOT_TASKS = new Set<Instance['task_state']>([TaskState.IMAGE_SNAPSHOT, TaskState.IMAGE_UPLOADING, TaskState.IMAGE_BACKUP, TaskState.SHELVING]);

/**
 * A snapshot past its deadline does not harm the guest: as Nova, the instance keeps its state,
 * the task ends, and the half-made image and its upload are removed.
 */
async function abandonSnapshot(instance: Instance): Promise<void> {
  const action = await latestTaskAction(instance.id);
  if (!(await updateInstance(instance, { task_state: null, task_deadline: null }))) return;
  if (action?.snapshot) await discardSnapshot(action.snapshot);
  logger.warn('snapshot timed out; its image was removed', { instance_id: instance.id, image_id: action?.snapshot?.image_id });
}

async function hostIsAlive(instance: Instance): Promise<boolean> {
  if (!instance.host) return false;
  const host = await getHost(instance.host);
  return !!host && isHostUp(host, config().SERVICE_DOWN_TIME);
}

async function timeOut(instance: Instance): Promise<boolean> {
  const building = instance.vm_state === VmState.BUILDING;
  const fault = {
    code: 500,
    message: `Task ${instance.task_state} of instance ${instance.id} did not finish before its deadline ${instance.task_deadline}`,
    details: building ? 'The build timed out; its host claim was released.' : 'The host did not confirm the action in time.',
    created: new Date().toISOString(),
  };
  // A build that timed out releases its claim; an action on a running guest keeps it (the guest may exist).
  const release = building ? claimRelease(instance) : [];
  const changes = { vm_state: VmState.ERROR, task_state: null, task_deadline: null, fault, ...(building ? { claimed_host: null } : {}) };
  const done = await transact([versionedUpdate(instance, changes), ...release]);
  if (!done) return false;
  logger.warn('task timed out, instance set to ERROR', { instance_id: instance.id, task_state: instance.task_state });
  // The host may still finish the build later: make sure no guest runs without a claim.
  if (building && instance.host) await sendDestroy(instance.host, instance.id);
  return true;
}
