import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { enforceable } from '../../../shared/domain/quota.js';
import { ServerGroupPolicy, type ServerGroup } from '../../../shared/domain/server-group.js';
import { projectLimits } from '../../../shared/store/quota-limits.js';
import { BadRequest, NotFound, QuotaExceeded } from '../../../shared/errors.js';
import { createServerGroup, deleteServerGroup, getServerGroup, listMembers, listServerGroups, ServerGroupQuotaExceeded } from '../../../shared/store/server-groups.js';
import { json, parseBody, parseQuery } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';
import { rejectUnknownQuery } from './query-params.js';

/**
 * Nova's os-server-groups: a group names a placement policy its members are scheduled by
 * (functions/scheduler/filters/server-group-*.ts, weighers/server-group-*.ts). Microversions: 2.13
 * shows project_id and user_id; 2.15 adds the soft policies; 2.64 takes and shows a single
 * `policy` with `rules` (`max_server_per_host` for anti-affinity, which the scheduler's
 * anti-affinity filter and placement claim honour) instead of `policies` and `metadata`; 2.75
 * rejects unknown list parameters. Members join at boot with the
 * `group` scheduler hint and leave when they are deleted; deleting a group leaves its members running.
 */
const BASE = '/compute/v2.1/os-server-groups';

const CreateSchema = z.strictObject({
  server_group: z.strictObject({
    name: z.string().min(1).max(255).regex(/^\S(.*\S)?$/s, 'must not start or end with whitespace'),
    policies: z.array(ServerGroupPolicy).length(1),
  }),
});

/** Nova's parameter_types.positive_integer: an integer, or a string of digits, of at least 1. */
const PositiveInteger = z.union([z.number().int(), z.string().regex(/^[0-9]+$/).transform(Number)]).pipe(z.number().int().min(1));

const CreateSchemaV264 = z.strictObject({
  server_group: z.strictObject({
    name: CreateSchema.shape.server_group.shape.name,
    policy: ServerGroupPolicy,
    rules: z.strictObject({ max_server_per_host: PositiveInteger.optional() }).optional(),
  }),
});

const ListQuery = z.object({
  all_projects: z.string().optional(),
  limit: z.coerce.number().int().min(0).optional(),
  offset: z.coerce.number().int().min(0).optional(),
});

const SOFT_POLICIES = new Set(['soft-affinity', 'soft-anti-affinity']);

async function view(req: ApiRequest, g: ServerGroup, members?: string[]) {
  const policy = req.microversion.atLeast('2.64') ? { policy: g.policy, rules: g.rules } : { policies: [g.policy] };
  return {
    id: g.id,
    name: g.name,
    ...policy,
    members: members ?? (await listMembers(g.id)),
    ...(!req.microversion.atLeast('2.64') && { metadata: {} }),
    ...(req.microversion.atLeast('2.13') && { project_id: g.project_id, user_id: g.user_id }),
  };
}

/** The name, policy and rules of a create body at the request's microversion, with Nova's checks. */
function groupOfBody(req: ApiRequest): Pick<ServerGroup, 'name' | 'policy' | 'rules'> {
  if (req.microversion.atLeast('2.64')) {
    const { name, policy, rules = {} } = parseBody(req, CreateSchemaV264).server_group;
    if (policy !== 'anti-affinity' && Object.keys(rules).length > 0) throw new BadRequest('Only anti-affinity policy supports rules.');
    return { name, policy, rules };
  }
  const { name, policies } = parseBody(req, CreateSchema).server_group;
  const [policy] = policies;
  if (SOFT_POLICIES.has(policy) && !req.microversion.atLeast('2.15')) {
    throw new BadRequest(`Invalid input for field/attribute 0. Value: ${policy}. '${policy}' is not one of ['anti-affinity', 'affinity']`);
  }
  return { name, policy, rules: {} };
}

/** The group, if the caller may see it (its project, or an admin); Nova's 404 otherwise. */
async function loadGroup(req: ApiRequest): Promise<ServerGroup> {
  const id = req.params.server_group_id;
  const group = await getServerGroup(id);
  if (!group || (group.project_id !== req.auth.project_id && !isAdmin(req.auth))) throw new NotFound(`Instance group ${id} could not be found.`);
  return group;
}

async function listGroups(req: ApiRequest): Promise<ApiResponse> {
  rejectUnknownQuery(req, ['all_projects', 'limit', 'offset']);
  const q = parseQuery(req, ListQuery);
  const all = isAdmin(req.auth) && q.all_projects !== undefined && !['0', 'false', 'False'].includes(q.all_projects);
  const groups = (await listServerGroups()).filter((g) => all || g.project_id === req.auth.project_id);
  const page = groups.slice(q.offset ?? 0, q.limit === undefined ? undefined : (q.offset ?? 0) + q.limit);
  return json(200, { server_groups: await Promise.all(page.map((g) => view(req, g))) });
}

async function createGroup(req: ApiRequest): Promise<ApiResponse> {
  const body = groupOfBody(req);
  const group: ServerGroup = {
    id: randomUUID(),
    name: body.name,
    project_id: req.auth.project_id,
    user_id: req.auth.user_id,
    policy: body.policy,
    rules: body.rules,
    member_count: 0,
    created_at: new Date().toISOString(),
  };
  try {
    await createServerGroup(group, enforceable((await projectLimits(req.auth.project_id)).server_groups));
  } catch (err) {
    if (err instanceof ServerGroupQuotaExceeded) throw new QuotaExceeded(err.message);
    throw err;
  }
  return json(200, { server_group: await view(req, group, []) });
}

async function showGroup(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { server_group: await view(req, await loadGroup(req)) });
}

async function deleteGroup(req: ApiRequest): Promise<ApiResponse> {
  const group = await loadGroup(req);
  if (!(await deleteServerGroup(group))) throw new NotFound(`Instance group ${group.id} could not be found.`);
  return { status: 204 };
}

export const serverGroupRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: listGroups },
  { method: 'POST', path: BASE, service: 'compute', handler: createGroup },
  { method: 'GET', path: `${BASE}/{server_group_id}`, service: 'compute', handler: showGroup },
  { method: 'DELETE', path: `${BASE}/{server_group_id}`, service: 'compute', handler: deleteGroup },
];
