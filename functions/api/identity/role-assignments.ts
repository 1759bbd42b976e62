import { z } from 'zod';
import { NotFound } from '../../../shared/errors.js';
import { json, parseQuery } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { DEFAULT_DOMAIN } from './default-domain.js';
import { collectionLinks, v3Url } from './links.js';
import { requireAdmin, requireAdminOrUser } from './policy.js';
import { revokeTokensOf } from './revocations.js';
import { loadRole, roleView } from './roles.js';
import { allAssignments, assignRole, assignmentsOf, assignmentsOn, unassignRole, type Assignment } from './store/assignments.js';
import { getProject } from './store/projects.js';
import { getRole, listRoles } from './store/roles.js';
import { getUser } from './store/users.js';

const FlagSchema = z
  .string()
  .transform((v) => ['', 'true', '1', 'yes'].includes(v.toLowerCase()))
  .optional();

const AssignmentListQuerySchema = z.object({
  'user.id': z.string().optional(),
  'group.id': z.string().optional(),
  'role.id': z.string().optional(),
  'scope.project.id': z.string().optional(),
  'scope.domain.id': z.string().optional(),
  'scope.system': z.string().optional(),
  'scope.OS-INHERIT:inherited_to': z.string().optional(),
  include_names: FlagSchema,
  // Every assignment here is a direct user-on-project one, so effective and direct lists are the same.
  effective: FlagSchema,
  include_subtree: FlagSchema,
});

const grant = (req: ApiRequest): Assignment => ({
  project_id: req.params.project_id,
  user_id: req.params.user_id,
  role_id: req.params.role_id,
});

/** `PUT /v3/projects/{p}/users/{u}/roles/{r}` (204, also when already assigned): `openstack role add`. */
async function assign(req: ApiRequest) {
  requireAdmin(req, 'create_grant');
  const a = grant(req);
  const outcome = await assignRole(a);
  if (outcome === 'no-project') throw new NotFound(`Could not find project: ${a.project_id}.`);
  if (outcome === 'no-user') throw new NotFound(`Could not find user: ${a.user_id}.`);
  if (outcome === 'no-role') throw new NotFound(`Could not find role: ${a.role_id}.`);
  return json(204);
}

/** `HEAD` (and GET) `/v3/projects/{p}/users/{u}/roles/{r}`: 204 if the user has that role there, else 404. */
async function check(req: ApiRequest) {
  requireAdmin(req, 'check_grant');
  const a = grant(req);
  const held = (await assignmentsOn(a.project_id, a.user_id)).some((x) => x.role_id === a.role_id);
  if (!held) throw new NotFound(`Could not find role assignment with role: ${a.role_id}, user or group: ${a.user_id}, project, domain, or system: ${a.project_id}.`);
  return json(204);
}

/** `DELETE /v3/projects/{p}/users/{u}/roles/{r}` (204): `openstack role remove`; the user's tokens on that project are revoked. */
async function unassign(req: ApiRequest) {
  requireAdmin(req, 'revoke_grant');
  const a = grant(req);
  if (!(await unassignRole(a))) {
    throw new NotFound(`Could not find role assignment with role: ${a.role_id}, user or group: ${a.user_id}, project, domain, or system: ${a.project_id}.`);
  }
  await revokeTokensOf({ user_id: a.user_id, project_id: a.project_id });
  return json(204);
}

/** `GET /v3/projects/{p}/users/{u}/roles`: the roles a user holds on a project. */
async function listGrants(req: ApiRequest) {
  requireAdminOrUser(req, 'list_grants', req.params.user_id);
  const { project_id: projectId, user_id: userId } = req.params;
  if (!(await getProject(projectId))) throw new NotFound(`Could not find project: ${projectId}.`);
  if (!(await getUser(userId))) throw new NotFound(`Could not find user: ${userId}.`);
  const roles = await Promise.all((await assignmentsOn(projectId, userId)).map((a) => loadRole(a.role_id)));
  return json(200, { roles: roles.map((r) => roleView(req, r)), links: collectionLinks(req) });
}

/** `GET /v3/role_assignments`, with the filters `openstack role assignment list` sends. */
async function listAssignments(req: ApiRequest) {
  const query = parseQuery(req, AssignmentListQuerySchema);
  const userId = query['user.id'];
  const projectId = query['scope.project.id'];
  if (!userId || userId !== req.auth.user_id) requireAdmin(req, 'list_role_assignments');
  // No groups, no domain or system scope, no inheritance here: those filters match nothing.
  const impossible =
    query['group.id'] !== undefined ||
    query['scope.domain.id'] !== undefined ||
    query['scope.system'] !== undefined ||
    query['scope.OS-INHERIT:inherited_to'] !== undefined;
  let assignments: Assignment[];
  if (impossible) assignments = [];
  else if (projectId !== undefined) assignments = await assignmentsOn(projectId, userId);
  else if (userId !== undefined) assignments = await assignmentsOf(userId);
  else assignments = await allAssignments();
  assignments = assignments.filter((a) => query['role.id'] === undefined || a.role_id === query['role.id']);

  const names = query.include_names ? await namesFor(assignments) : undefined;
  const domain = names ? { domain: { ...DEFAULT_DOMAIN } } : {};
  const body = assignments.map((a) => ({
    role: { id: a.role_id, ...(names ? { name: names.roles.get(a.role_id) ?? '' } : {}) },
    user: { id: a.user_id, ...(names ? { name: names.users.get(a.user_id) ?? '', ...domain } : {}) },
    scope: { project: { id: a.project_id, ...(names ? { name: names.projects.get(a.project_id) ?? '', ...domain } : {}) } },
    links: { assignment: v3Url(req, `/projects/${a.project_id}/users/${a.user_id}/roles/${a.role_id}`) },
  }));
  return json(200, { role_assignments: body, links: collectionLinks(req) });
}

async function namesFor(assignments: Assignment[]) {
  const lookup = async <T extends { name: string }>(ids: Iterable<string>, get: (id: string) => Promise<T | undefined>) => {
    const entries = await Promise.all([...new Set(ids)].map(async (id) => [id, (await get(id))?.name ?? ''] as const));
    return new Map(entries);
  };
  const [roles, users, projects] = await Promise.all([
    listRoles().then((rs) => new Map(rs.map((r) => [r.id, r.name]))),
    lookup(assignments.map((a) => a.user_id), getUser),
    lookup(assignments.map((a) => a.project_id), getProject),
  ]);
  // A role created after listRoles() read the index (gsi2 lags) is looked up directly.
  for (const a of assignments) if (!roles.has(a.role_id)) roles.set(a.role_id, (await getRole(a.role_id))?.name ?? '');
  return { roles, users, projects };
}

export const roleAssignmentRoutes: Route[] = [
  { method: 'PUT', path: '/identity/v3/projects/{project_id}/users/{user_id}/roles/{role_id}', service: 'identity', handler: assign },
  { method: 'GET', path: '/identity/v3/projects/{project_id}/users/{user_id}/roles/{role_id}', service: 'identity', handler: check },
  { method: 'DELETE', path: '/identity/v3/projects/{project_id}/users/{user_id}/roles/{role_id}', service: 'identity', handler: unassign },
  { method: 'GET', path: '/identity/v3/projects/{project_id}/users/{user_id}/roles', service: 'identity', handler: listGrants },
  { method: 'GET', path: '/identity/v3/role_assignments', service: 'identity', handler: listAssignments },
];
