import { z } from 'zod';
import { ACTION_EVENTS, InstanceActionName } from '../../../../shared/domain/instance-states.js';
import { Conflict, NotFound } from '../../../../shared/errors.js';
import { logger } from '../../../../shared/logger.js';
import { sendHostCommand } from '../../../../shared/messages/host-commands.js';
import { actionPutOnVersion, finishEvent, newAction } from '../../../../shared/store/instance-actions.js';
import { transact } from '../../../../shared/store/instances.js';
import { validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { checkNotLocked, loadInstance } from '../server-access.js';
import { checkActionAllowed, checkHasHost } from './guest-task.js';
import type { ServerAction } from './server-action.js';

const TriggerCrashDumpSchema = z.strictObject({ trigger_crash_dump: z.null() });

/**
 * `trigger_crash_dump` (microversion 2.17): 202; the host injects an NMI into the guest. As in
 * Nova the instance takes no task state and keeps its states; the action is recorded (on the
 * instance version whose states allowed it) and its event ends with the host's report.
 */
async function triggerCrashDump(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  // Nova's answer for an action its microversion does not have: a bare 404.
  if (!req.microversion.atLeast('2.17')) throw new NotFound('The resource could not be found.');
  validate(TriggerCrashDumpSchema, { trigger_crash_dump: body });
  for (let attempt = 0; attempt < 5; attempt++) {
    const instance = await loadInstance(req);
    checkNotLocked(req, instance);
    checkHasHost(instance);
    checkActionAllowed(req, instance, InstanceActionName.TRIGGER_CRASH_DUMP, 'triggerCrashDump', false);
    const action = newAction({
      instanceId: instance.id,
      action: InstanceActionName.TRIGGER_CRASH_DUMP,
      requestId: req.requestId,
      userId: req.auth.user_id,
      projectId: req.auth.project_id,
    });
    if (!(await transact(actionPutOnVersion(action, instance.version)))) continue;
    if (!(await sendHostCommand(instance.host, { type: 'trigger_crash_dump', request_id: req.requestId, instance_id: instance.id }))) {
      // No task deadline covers this action: its event ends here.
      logger.error('the instance host has no queue', { instance_id: instance.id, host: instance.host });
      await finishEvent(instance.id, req.requestId, {
        event: ACTION_EVENTS.trigger_crash_dump!,
        start_time: action.start_time,
        finish_time: new Date().toISOString(),
        result: 'Error',
        traceback: `host ${instance.host} is not registered`,
      });
    }
    return { status: 202 };
  }
  throw new Conflict('The server was changed by another request at the same time; try again.');
}

export const triggerCrashDumpActions: ServerAction[] = [{ name: 'trigger_crash_dump', handle: triggerCrashDump }];
