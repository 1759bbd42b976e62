import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import type { ServerAction } from './server-action.js';
import { startGuestTask } from './guest-task.js';

/** `pause`: 202; pausing, then PAUSED. */
async function pause(req: ApiRequest): Promise<ApiResponse> {
  await startGuestTask(req, {
    action: InstanceActionName.PAUSE,
    rule: 'pause',
    taskState: TaskState.PAUSING,
    command: (i, requestId) => ({ type: 'pause', request_id: requestId, instance_id: i.id }),
  });
  return { status: 202 };
}

/** `unpause`: 202; unpausing, then ACTIVE. */
async function unpause(req: ApiRequest): Promise<ApiResponse> {
  await startGuestTask(req, {
    action: InstanceActionName.UNPAUSE,
    rule: 'unpause',
    taskState: TaskState.UNPAUSING,
    command: (i, requestId) => ({ type: 'unpause', request_id: requestId, instance_id: i.id }),
  });
  return { status: 202 };
}

export const pauseServerActions: ServerAction[] = [
  { name: 'pause', handle: pause },
  { name: 'unpause', handle: unpause },
];
