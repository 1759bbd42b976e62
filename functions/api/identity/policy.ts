import { Forbidden } from '../../../shared/errors.js';
import type { ApiRequest } from '../http/types.js';
import { isAdmin } from './token-context.js';

const denied = (action: string) => new Forbidden(`You are not authorized to perform the requested action: identity:${action}.`);

/** Keystone's default policy, reduced to what this cloud has: the admin role may do anything. */
export function requireAdmin(req: ApiRequest, action: string): void {
  if (!isAdmin(req.auth)) throw denied(action);
}

/** Admins, or the caller acting on themself (`identity:get_user` and friends). */
export function requireAdminOrUser(req: ApiRequest, action: string, userId: string): void {
  if (!isAdmin(req.auth) && req.auth.user_id !== userId) throw denied(action);
}

/** Admins, or a caller whose token is scoped to that project. */
export function requireAdminOrProject(req: ApiRequest, action: string, projectId: string): void {
  if (!isAdmin(req.auth) && req.auth.project_id !== projectId) throw denied(action);
}
