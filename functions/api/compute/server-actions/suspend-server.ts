import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import type { ServerAction } from './server-action.js';
import { startGuestTask } from './guest-task.js';

/** `suspend`: 202; suspending, then SUSPENDED. */
async function suspend(req: ApiRequest): Promise<ApiResponse> {
  await startGuestTask(req, {
    action: InstanceActionName.SUSPEND,
    rule: 'suspend',
    taskState: TaskState.SUSPENDING,
    command: (i, requestId) => ({ type: 'suspend', request_id: requestId, instance_id: i.id }),
  });
  return { status: 202 };
}

/** `resume`: 202; resuming, then ACTIVE. */
async function resume(req: ApiRequest): Promise<ApiResponse> {
  await startGuestTask(req, {
    action: InstanceActionName.RESUME,
    rule: 'resume',
    taskState: TaskState.RESUMING,
    command: (i, requestId) => ({ type: 'resume', request_id: requestId, instance_id: i.id }),
  });
  return { status: 202 };
}

export const suspendServerActions: ServerAction[] = [
  { name: 'suspend', handle: suspend },
  { name: 'resume', handle: resume },
];
