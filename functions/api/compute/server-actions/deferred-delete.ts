import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import { serverLimits } from '../../../../shared/domain/quota.js';
import { Conflict, QuotaExceeded } from '../../../../shared/errors.js';
import { logger } from '../../../../shared/logger.js';
import { sendHostCommand } from '../../../../shared/messages/host-commands.js';
import { restore } from '../../../../shared/store/deleted-instances.js';
import { newAction } from '../../../../shared/store/instance-actions.js';
import { deadlineFor } from '../../../../shared/store/instances.js';
import { projectLimits, userLimits } from '../../../../shared/store/quota-limits.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { loadInstance } from '../server-access.js';
import { deleteForGood } from '../server-delete.js';
import { checkActionAllowed, checkHasHost } from './guest-task.js';
import type { ServerAction } from './server-action.js';

/** `restore`: a soft-deleted server counts in its quota again (403 without room) and its host powers it on. */
async function restoreServer(req: ApiRequest): Promise<ApiResponse> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const instance = await loadInstance(req);
    checkActionAllowed(req, instance, InstanceActionName.RESTORE, 'restore');
    checkHasHost(instance);
    const limits = { project: serverLimits(await projectLimits(instance.project_id)), user: serverLimits(await userLimits(instance.project_id, instance.user_id)) };
    const action = newAction({ instanceId: instance.id, action: InstanceActionName.RESTORE, requestId: req.requestId, userId: req.auth.user_id, projectId: req.auth.project_id });
    const restored = await restore(instance, action, limits, deadlineFor(TaskState.RESTORING));
    if (restored === 'over-quota') throw new QuotaExceeded('Quota exceeded: the project or user has no room left for the restored server.');
    if (!restored) continue;
    if (!(await sendHostCommand(instance.host, { type: 'power_on', request_id: req.requestId, instance_id: instance.id, action: 'restore' }))) {
      logger.error('the instance host has no queue; the restore will time out', { instance_id: instance.id, host: instance.host });
    }
    return { status: 202 };
  }
  throw new Conflict('The server was changed by another request at the same time; try again.');
}

/** `forceDelete`: deletes a server for good, soft-deleted or not, when no task runs on it (Nova's force_delete). */
async function forceDeleteServer(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  checkActionAllowed(req, instance, InstanceActionName.DELETE, 'forceDelete');
  await deleteForGood(req, instance);
  return { status: 202 };
}

export const deferredDeleteActions: ServerAction[] = [
  { name: 'restore', handle: restoreServer },
  { name: 'forceDelete', handle: forceDeleteServer },
];
