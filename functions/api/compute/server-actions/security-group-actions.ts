import { z } from 'zod';
import { BadRequest } from '../../../../shared/errors.js';
import { validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { addSecurityGroup, removeSecurityGroup } from '../network-proxy/server-security-groups.js';
import { loadInstance } from '../server-access.js';
import type { ServerAction } from './server-action.js';

/**
 * `addSecurityGroup` / `removeSecurityGroup` (every microversion, security_groups.py
 * SecurityGroupActionController): a group by name or id onto, or off, all the server's ports.
 */
const GroupName = z.strictObject({ name: z.string().min(1) });

function groupAction(apply: typeof addSecurityGroup) {
  return async (req: ApiRequest, body: unknown): Promise<ApiResponse> => {
    const { name } = validate(GroupName, body);
    const instance = await loadInstance(req);
    if (name.trim() === '') throw new BadRequest('Security group name cannot be empty');
    await apply(req, instance, name);
    return { status: 202 };
  };
}

export const securityGroupActions: ServerAction[] = [
  { name: 'addSecurityGroup', handle: groupAction(addSecurityGroup) },
  { name: 'removeSecurityGroup', handle: groupAction(removeSecurityGroup) },
];
