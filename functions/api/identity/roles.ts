import { z } from 'zod';
import { Conflict, NotFound } from '../../../shared/errors.js';
import { json, parseBody, parseQuery } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { collectionLinks, v3Url } from './links.js';
import { requireAdmin } from './policy.js';
import { revokeTokensOf } from './revocations.js';
import { allAssignments, deleteAssignments } from './store/assignments.js';
import { createRole, deleteRole, findRoleByName, getRole, listRoles, type Role } from './store/roles.js';

const RoleCreateSchema = z.object({
  role: z.object({
    name: z.string().trim().min(1).max(255),
    description: z.string().max(255).nullish(),
    domain_id: z.null().optional(),
  }),
});

const RoleListQuerySchema = z.object({
  name: z.string().optional(),
  domain_id: z.string().optional(),
});

export function roleView(req: ApiRequest, role: Role) {
  return {
    id: role.id,
    name: role.name,
    domain_id: null,
    description: role.description ?? null,
    options: {},
    links: { self: v3Url(req, `/roles/${role.id}`) },
  };
}

export async function loadRole(id: string): Promise<Role> {
  const role = await getRole(id);
  if (!role) throw new NotFound(`Could not find role: ${id}.`);
  return role;
}

/** `GET /v3/roles`: the global roles (no domain-specific roles here, so a `domain_id` filter matches none). */
async function list(req: ApiRequest) {
  requireAdmin(req, 'list_roles');
  const query = parseQuery(req, RoleListQuerySchema);
  let roles: Role[];
  if (query.domain_id !== undefined) roles = [];
  else if (query.name !== undefined) {
    const found = await findRoleByName(query.name);
    roles = found ? [found] : [];
  } else roles = await listRoles();
  return json(200, { roles: roles.map((r) => roleView(req, r)), links: collectionLinks(req) });
}

async function show(req: ApiRequest) {
  requireAdmin(req, 'get_role');
  return json(200, { role: roleView(req, await loadRole(req.params.role_id)) });
}

async function create(req: ApiRequest) {
  requireAdmin(req, 'create_role');
  const { role: body } = parseBody(req, RoleCreateSchema);
  const role = await createRole({ name: body.name, ...(body.description != null ? { description: body.description } : {}) });
  if (!role) throw new Conflict(`Conflict occurred attempting to store role - Duplicate entry found with name ${body.name}.`);
  return json(201, { role: roleView(req, role) });
}

/** `DELETE /v3/roles/{id}` (204): the role, its assignments, and the tokens that carried it. */
async function remove(req: ApiRequest) {
  requireAdmin(req, 'delete_role');
  const role = await loadRole(req.params.role_id);
  if (!(await deleteRole(role))) throw new NotFound(`Could not find role: ${role.id}.`);
  const assignments = (await allAssignments()).filter((a) => a.role_id === role.id);
  await deleteAssignments(assignments);
  for (const a of assignments) await revokeTokensOf({ user_id: a.user_id, project_id: a.project_id });
  return json(204);
}

export const roleRoutes: Route[] = [
  { method: 'GET', path: '/identity/v3/roles', service: 'identity', handler: list },
  { method: 'POST', path: '/identity/v3/roles', service: 'identity', handler: create },
  { method: 'GET', path: '/identity/v3/roles/{role_id}', service: 'identity', handler: show },
  { method: 'DELETE', path: '/identity/v3/roles/{role_id}', service: 'identity', handler: remove },
];
