import { z } from 'zod';
import { Conflict, NotFound, Unauthorized } from '../../../shared/errors.js';
import { json, parseBody, parseQuery } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { DEFAULT_DOMAIN } from './default-domain.js';
import { collectionLinks, v3Url } from './links.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { requireAdmin, requireAdminOrUser } from './policy.js';
import { loadProject, projectView } from './projects.js';
import { revokeTokensOf } from './revocations.js';
import { assignmentsOf, deleteAssignments } from './store/assignments.js';
import { getProject } from './store/projects.js';
import { createUser, deleteUser, findUserByName, getUser, listUsers, updateUser, type User, type UserFields } from './store/users.js';

const UserNameSchema = z.string().trim().min(1).max(255);
const PasswordSchema = z.string().max(4096);

const UserCreateSchema = z.object({
  user: z.object({
    name: UserNameSchema,
    domain_id: z.string().nullish(),
    default_project_id: z.string().nullish(),
    password: PasswordSchema.nullish(),
    enabled: z.boolean().optional(),
    email: z.string().max(255).nullish(),
    description: z.string().max(65535).nullish(),
  }),
});

const UserUpdateSchema = z.object({
  user: z.object({
    name: UserNameSchema.optional(),
    default_project_id: z.string().nullish(),
    password: PasswordSchema.nullish(),
    enabled: z.boolean().optional(),
    email: z.string().max(255).nullish(),
    description: z.string().max(65535).nullish(),
  }),
});

const PasswordChangeSchema = z.object({
  user: z.object({ password: PasswordSchema, original_password: z.string() }),
});

const UserListQuerySchema = z.object({
  name: z.string().optional(),
  domain_id: z.string().optional(),
  enabled: z
    .enum(['true', 'True', 'false', 'False', '1', '0'])
    .transform((v) => v === 'true' || v === 'True' || v === '1')
    .optional(),
});

function userView(req: ApiRequest, user: User) {
  return {
    id: user.id,
    name: user.name,
    domain_id: user.domain_id,
    enabled: user.enabled,
    ...(user.default_project_id !== undefined ? { default_project_id: user.default_project_id } : {}),
    ...(user.email !== undefined ? { email: user.email } : {}),
    ...(user.description !== undefined ? { description: user.description } : {}),
    password_expires_at: null,
    options: {},
    links: { self: v3Url(req, `/users/${user.id}`) },
  };
}

async function loadUser(id: string): Promise<User> {
  const user = await getUser(id);
  if (!user) throw new NotFound(`Could not find user: ${id}.`);
  return user;
}

const nameConflict = (name: string) =>
  new Conflict(`Conflict occurred attempting to store user - Duplicate entry found with name ${name} at domain ID ${DEFAULT_DOMAIN.id}.`);

/** `POST /v3/users` (201). `openstack user create --project P --password X NAME` sends default_project_id. */
async function create(req: ApiRequest) {
  requireAdmin(req, 'create_user');
  const { user: body } = parseBody(req, UserCreateSchema);
  if (body.domain_id && body.domain_id !== DEFAULT_DOMAIN.id) throw new NotFound(`Could not find domain: ${body.domain_id}.`);
  if (body.default_project_id) await loadProject(body.default_project_id);
  const fields: UserFields = {
    name: body.name,
    enabled: body.enabled ?? true,
    ...(body.default_project_id ? { default_project_id: body.default_project_id } : {}),
    ...(body.email != null ? { email: body.email } : {}),
    ...(body.description != null ? { description: body.description } : {}),
    ...(body.password != null ? { password_hash: await hashPassword(body.password) } : {}),
  };
  const user = await createUser(fields);
  if (!user) throw nameConflict(body.name);
  return json(201, { user: userView(req, user) });
}

/** `GET /v3/users`, with the `name`, `domain_id` and `enabled` filters the CLI uses to find users by name. */
async function list(req: ApiRequest) {
  requireAdmin(req, 'list_users');
  const query = parseQuery(req, UserListQuerySchema);
  let users: User[];
  if (query.name !== undefined) {
    const found = await findUserByName(query.domain_id ?? DEFAULT_DOMAIN.id, query.name);
    users = found ? [found] : [];
  } else {
    users = await listUsers();
  }
  users = users.filter(
    (u) => (query.domain_id === undefined || u.domain_id === query.domain_id) && (query.enabled === undefined || u.enabled === query.enabled),
  );
  return json(200, { users: users.map((u) => userView(req, u)), links: collectionLinks(req) });
}

async function show(req: ApiRequest) {
  requireAdminOrUser(req, 'get_user', req.params.user_id);
  return json(200, { user: userView(req, await loadUser(req.params.user_id)) });
}

/** `PATCH /v3/users/{id}`. A new password or disabling the user revokes the user's tokens, as keystone does. */
async function update(req: ApiRequest) {
  requireAdmin(req, 'update_user');
  const { user: body } = parseBody(req, UserUpdateSchema);
  const user = await loadUser(req.params.user_id);
  if (body.default_project_id) await loadProject(body.default_project_id);
  // A key with an undefined value is removed from the item (a null in the PATCH body).
  const changes: Partial<UserFields> = {
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
    ...(body.default_project_id !== undefined ? { default_project_id: body.default_project_id ?? undefined } : {}),
    ...(body.email !== undefined ? { email: body.email ?? undefined } : {}),
    ...(body.description !== undefined ? { description: body.description ?? undefined } : {}),
    ...(body.password !== undefined ? { password_hash: body.password === null ? undefined : await hashPassword(body.password) } : {}),
  };
  const outcome = await updateUser(user, changes);
  if (outcome === 'missing') throw new NotFound(`Could not find user: ${user.id}.`);
  if (outcome === 'name-taken') throw nameConflict(changes.name ?? user.name);
  if (body.password !== undefined || (body.enabled === false && user.enabled)) await revokeTokensOf({ user_id: user.id });
  const updated: User = { ...user };
  for (const [k, v] of Object.entries(changes)) (updated as Record<string, unknown>)[k] = v;
  return json(200, { user: userView(req, updated) });
}

/** `POST /v3/users/{id}/password` (204): users change their own password, proving the old one. */
async function changePassword(req: ApiRequest) {
  requireAdminOrUser(req, 'change_password', req.params.user_id);
  const { user: body } = parseBody(req, PasswordChangeSchema);
  const user = await loadUser(req.params.user_id);
  if (!user.password_hash || !(await verifyPassword(body.original_password, user.password_hash))) throw new Unauthorized();
  const outcome = await updateUser(user, { password_hash: await hashPassword(body.password) });
  if (outcome !== 'updated') throw new NotFound(`Could not find user: ${user.id}.`);
  await revokeTokensOf({ user_id: user.id });
  return json(204);
}

/** `DELETE /v3/users/{id}` (204): the user, the user's role assignments and tokens. */
async function remove(req: ApiRequest) {
  requireAdmin(req, 'delete_user');
  const user = await loadUser(req.params.user_id);
  if (!(await deleteUser(user))) throw new NotFound(`Could not find user: ${user.id}.`);
  await deleteAssignments(await assignmentsOf(user.id));
  await revokeTokensOf({ user_id: user.id });
  return json(204);
}

/** `GET /v3/users/{id}/projects`: what `openstack project list` falls back to for non-admins. */
async function listUserProjects(req: ApiRequest) {
  requireAdminOrUser(req, 'list_user_projects', req.params.user_id);
  await loadUser(req.params.user_id);
  const projectIds = [...new Set((await assignmentsOf(req.params.user_id)).map((a) => a.project_id))];
  const projects = (await Promise.all(projectIds.map((id) => getProject(id)))).filter((p) => p !== undefined);
  return json(200, { projects: projects.map((p) => projectView(req, p)), links: collectionLinks(req) });
}

export const userRoutes: Route[] = [
  { method: 'POST', path: '/identity/v3/users', service: 'identity', handler: create },
  { method: 'GET', path: '/identity/v3/users', service: 'identity', handler: list },
  { method: 'GET', path: '/identity/v3/users/{user_id}', service: 'identity', handler: show },
  { method: 'PATCH', path: '/identity/v3/users/{user_id}', service: 'identity', handler: update },
  { method: 'DELETE', path: '/identity/v3/users/{user_id}', service: 'identity', handler: remove },
  { method: 'POST', path: '/identity/v3/users/{user_id}/password', service: 'identity', handler: changePassword },
  { method: 'GET', path: '/identity/v3/users/{user_id}/projects', service: 'identity', handler: listUserProjects },
];
