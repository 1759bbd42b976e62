import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import type { ServerAction } from './server-action.js';
import { startGuestTask } from './guest-task.js';

/** How long a stop lets the guest shut down (ACPI) before forcing it off (Nova's shutdown_timeout). */
export const POWER_OFF_TIMEOUT_SECONDS = 60;

/** `os-stop`: 202; powering-off, then SHUTOFF. */
async function stop(req: ApiRequest): Promise<ApiResponse> {
  await startGuestTask(req, {
    action: InstanceActionName.STOP,
    rule: 'stop',
    taskState: TaskState.POWERING_OFF,
    command: (i, requestId) => ({ type: 'power_off', request_id: requestId, instance_id: i.id, timeout_sec: POWER_OFF_TIMEOUT_SECONDS }),
  });
  return { status: 202 };
}

/** `os-start`: 202; powering-on, then ACTIVE. */
async function start(req: ApiRequest): Promise<ApiResponse> {
  await startGuestTask(req, {
    action: InstanceActionName.START,
    rule: 'start',
    taskState: TaskState.POWERING_ON,
    command: (i, requestId) => ({ type: 'power_on', request_id: requestId, instance_id: i.id }),
  });
  return { status: 202 };
}

export const serverPowerActions: ServerAction[] = [
  { name: 'os-stop', handle: stop },
  { name: 'os-start', handle: start },
];
