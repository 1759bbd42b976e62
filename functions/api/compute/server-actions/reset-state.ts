import { z } from 'zod';
import { VmState } from '../../../../shared/domain/instance-states.js';
import { validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { authorizeAdmin } from '../policy.js';
import { modifyInstance } from '../server-access.js';
import type { ServerAction } from './server-action.js';

const ResetStateSchema = z.strictObject({ state: z.enum(['active', 'error']) });

/**
 * `os-resetState` (admin): sets the server's vm_state to active or error and ends any task,
 * whatever the server is doing, as Nova's does; nothing is sent to the host.
 */
async function resetState(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-admin-actions:reset_state');
  const { state } = validate(ResetStateSchema, body);
  await modifyInstance(req, () => ({ vm_state: state === 'active' ? VmState.ACTIVE : VmState.ERROR, task_state: null, task_deadline: null }));
  return { status: 202 };
}

export const resetStateActions: ServerAction[] = [{ name: 'os-resetState', handle: resetState }];
