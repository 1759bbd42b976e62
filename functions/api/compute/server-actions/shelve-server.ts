import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { snapshotServer } from './create-image.js';
import { startGuestTask } from './guest-task.js';
import { POWER_OFF_TIMEOUT_SECONDS } from './server-power.js';
import type { ServerAction } from './server-action.js';

/**
 * `shelve`: 202; shelving while the host powers the guest off and uploads its disk as the image
 * `<name>-shelved` (made and uploaded as a snapshot's is), then SHELVED, and offloaded after
 * SHELVED_OFFLOAD_TIME (at once by default).
 */
async function shelve(req: ApiRequest): Promise<ApiResponse> {
  await snapshotServer(req, (i) => `${i.name}-shelved`, {}, {
    action: InstanceActionName.SHELVE,
    taskState: TaskState.SHELVING,
    properties: { image_type: 'snapshot' },
    lockApplies: true,
    command: (target) => ({ type: 'shelve', ...target, timeout_sec: POWER_OFF_TIMEOUT_SECONDS }),
  });
  return { status: 202 };
}

/** `shelveOffload`: 202; the host destroys the shelved guest and its claim is released (SHELVED_OFFLOADED). */
async function shelveOffload(req: ApiRequest): Promise<ApiResponse> {
  await startGuestTask(req, {
    action: InstanceActionName.SHELVE_OFFLOAD,
    rule: 'shelveOffload',
    taskState: TaskState.SHELVING_OFFLOADING,
    command: (i, requestId) => ({ type: 'destroy', request_id: requestId, instance_id: i.id }),
  });
  return { status: 202 };
}

export const shelveServerActions: ServerAction[] = [
  { name: 'shelve', handle: shelve },
  { name: 'shelveOffload', handle: shelveOffload },
];
