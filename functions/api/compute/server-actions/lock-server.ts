import { z } from 'zod';
import { InstanceActionName } from '../../../../shared/domain/instance-states.js';
import { Conflict } from '../../../../shared/errors.js';
import { actionPut, newAction } from '../../../../shared/store/instance-actions.js';
import { transact, versionedUpdate } from '../../../../shared/store/instances.js';
import { validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { loadInstance } from '../server-access.js';
import type { ServerAction } from './server-action.js';

/**
 * Sets `locked` and records the action in one conditional transaction. No host is involved:
 * a locked instance refuses actions from non-admins (server-access.ts checkNotLocked).
 */
/** 2.73: `{"lock": {"locked_reason": "..."}}` or `{"lock": null}`; before, any value. */
const LockBodyV273 = z.strictObject({ locked_reason: z.string().min(1).max(255).optional() }).nullable();

async function setLocked(req: ApiRequest, locked: boolean, reason: string | null = null): Promise<ApiResponse> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const instance = await loadInstance(req);
    const now = new Date().toISOString();
    const action = newAction(
      {
        instanceId: instance.id,
        action: locked ? InstanceActionName.LOCK : InstanceActionName.UNLOCK,
        requestId: req.requestId,
        userId: req.auth.user_id,
        projectId: req.auth.project_id,
      },
      now,
    );
    if (await transact([versionedUpdate(instance, { locked, locked_reason: reason }, now), actionPut(action)])) return { status: 202 };
  }
  throw new Conflict('The server was changed by another request at the same time; try again.');
}

export const lockServerActions: ServerAction[] = [
  {
    name: 'lock',
    handle: (req, body) => setLocked(req, true, req.microversion.atLeast('2.73') ? (validate(LockBodyV273, body)?.locked_reason ?? null) : null),
  },
  { name: 'unlock', handle: (req) => setLocked(req, false) },
];
