import { config } from '../../shared/config.js';
import { isHostUp } from '../../shared/domain/host.js';
import type { Instance } from '../../shared/domain/instance.js';
import { TaskState, VmState } from '../../shared/domain/instance-states.js';
import { logger } from '../../shared/logger.js';
import { sendDestroy } from '../../shared/messages/host-commands.js';
import { getHost } from '../../shared/store/hosts.js';
import { deadlineFor, updateInstance } from '../../shared/store/instances.js';
import { completeOffload } from '../conductor/reports/shelve-offloaded.js';
import { returnToOffloaded } from '../conductor/reports/unshelve-spawned.js';

/**
 * The overdue instances shelve and unshelve leave: a SHELVED server whose offload time came
 * (Nova's _poll_shelved_instances), and the shelve tasks whose host never answered. Returns
 * false for an instance that is none of these (the generic sweep handles it). The shelved image
 * is kept in every case: nothing of the guest is lost.
 */
export async function sweepShelved(instance: Instance): Promise<boolean> {
  const { vm_state: vm, task_state: task } = instance;
  if (vm === VmState.SHELVED && task === null) {
    const offloading = await updateInstance(instance, { task_state: TaskState.SHELVING_OFFLOADING, task_deadline: deadlineFor(TaskState.SHELVING_OFFLOADING) });
    if (offloading && instance.host) {
      logger.info('offloading a shelved instance whose shelved_offload_time passed', { instance_id: instance.id, host: instance.host });
      await sendDestroy(instance.host, instance.id, `req-offload-${instance.id}`);
    }
    return true;
  }
  if (task === TaskState.SHELVING_OFFLOADING) {
    // A host that is gone runs no guest: the offload is complete. One that is up keeps the
    // server SHELVED (Nova reverts the task), due for offload again at once unless offloads
    // are only asked for (a destroy or its report may have been lost).
    if (!(await hostIsAlive(instance))) {
      if (await completeOffload(instance)) logger.warn('completed an offload whose host is gone', { instance_id: instance.id, host: instance.host });
    } else {
      const again = config().SHELVED_OFFLOAD_TIME >= 0 ? new Date().toISOString() : null;
      if (await updateInstance(instance, { task_state: null, task_deadline: again })) {
        logger.warn('offload: the host did not confirm in time; the server stays SHELVED', { instance_id: instance.id, host: instance.host, retry_at: again });
      }
    }
    return true;
  }
  if (task === TaskState.UNSHELVING) {
    if (await updateInstance(instance, { task_state: null, task_deadline: null })) logger.warn('unshelve did not start in time', { instance_id: instance.id, vm_state: vm });
    return true;
  }
  if (vm === VmState.SHELVED_OFFLOADED && task === TaskState.SPAWNING) {
    const fault = { code: 500, message: `Unshelve of instance ${instance.id} on ${instance.host} did not finish before its deadline ${instance.task_deadline}`, created: new Date().toISOString() };
    if (await returnToOffloaded(instance, { fault })) {
      logger.warn('unshelve spawn timed out; claim released', { instance_id: instance.id, host: instance.host });
      // The host may still finish the spawn later: no guest runs without a claim.
      if (instance.host) await sendDestroy(instance.host, instance.id);
    }
    return true;
  }
  return false;
}

async function hostIsAlive(instance: Instance): Promise<boolean> {
  if (!instance.host) return false;
  const host = await getHost(instance.host);
  return !!host && isHostUp(host, config().SERVICE_DOWN_TIME);
}
