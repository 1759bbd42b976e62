import { z } from 'zod';
import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import { validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import type { ServerAction } from './server-action.js';
import { startGuestTask } from './guest-task.js';

const RebootSchema = z.strictObject({ type: z.enum(['SOFT', 'Soft', 'soft', 'HARD', 'Hard', 'hard']).transform((t) => t.toUpperCase() as 'SOFT' | 'HARD') });

/** `reboot` SOFT (rebooting, REBOOT) or HARD (rebooting_hard, HARD_REBOOT): 202, then ACTIVE. */
async function reboot(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  const { type } = validate(RebootSchema, body);
  await startGuestTask(req, {
    action: InstanceActionName.REBOOT,
    rule: type === 'SOFT' ? 'softReboot' : 'hardReboot',
    taskState: type === 'SOFT' ? TaskState.REBOOTING : TaskState.REBOOTING_HARD,
    command: (i, requestId) => ({ type: 'reboot', request_id: requestId, instance_id: i.id, reboot_type: type }),
  });
  return { status: 202 };
}

export const serverRebootActions: ServerAction[] = [{ name: 'reboot', handle: reboot }];
