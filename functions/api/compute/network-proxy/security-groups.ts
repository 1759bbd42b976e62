import { z } from 'zod';
import { BadRequest } from '../../../../shared/errors.js';
import { json, parseBody } from '../../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../../http/types.js';
import { proxyOnly } from './proxy-version.js';
import { createGroup, destroyGroup, getGroup, listGroups, updateGroup } from './security-group-api.js';
import { ruleView, validateId, type NovaGroup } from './security-group-format.js';

/**
 * `/os-security-groups` (2.1-2.35, nova/api/openstack/compute/security_groups.py): Neutron's
 * groups in Nova's shape. Neutron makes the project's `default` group on first sight and refuses
 * to delete a group still on a port (Nova's 400).
 */

type GroupData = { name: string; tenant_id: string };
/** Marks a source group that no longer exists: its rules are left out. */
const GONE = null;

/** The name and project of every group the rules point at, looked up once each (`_get_group_rule_data_by_rule_group_id`). */
export async function sourceGroupData(req: ApiRequest, groups: NovaGroup[]): Promise<Map<string, GroupData | null>> {
  const data = new Map<string, GroupData | null>(groups.map((g) => [g.id, { name: g.name, tenant_id: g.project_id }]));
  for (const id of new Set(groups.flatMap((g) => g.rules.map((r) => r.group_id)))) {
    if (!id || data.has(id)) continue;
    data.set(id, await getGroup(req, id).then((g) => ({ name: g.name, tenant_id: g.project_id }), () => GONE));
  }
  return data;
}

export function groupView(group: NovaGroup, sources: Map<string, GroupData | null>) {
  return {
    id: group.id,
    description: group.description,
    name: group.name,
    tenant_id: group.project_id,
    rules: group.rules.filter((r) => !r.group_id || sources.get(r.group_id)).map((r) => ruleView(r, r.group_id ? sources.get(r.group_id)! : undefined)),
  };
}

const oneGroupView = async (req: ApiRequest, group: NovaGroup) => groupView(group, await sourceGroupData(req, [group]));

const GroupBody = z.looseObject({
  security_group: z.looseObject({ name: z.string().max(255), description: z.string().max(255) }),
});

/** Nova's `[api] max_limit`. */
const MAX_LIMIT = 1000;

/** Python's sort of the views by (tenant_id, name): code-point order. */
export const byProjectAndName = (a: { tenant_id: string; name: string }, b: { tenant_id: string; name: string }) =>
  a.tenant_id < b.tenant_id ? -1 : a.tenant_id > b.tenant_id ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Nova's `common.limited`: `offset` and `limit` (non-negative integers) cut the list. */
function limited<T>(req: ApiRequest, items: T[]): T[] {
  const number = (key: string) => {
    const value = req.query.get(key);
    if (value === null) return undefined;
    if (!/^\d+$/.test(value)) throw new BadRequest(`Invalid input for query parameters ${key}. Value: ${value}. '${value}' does not match '^[0-9]*$'`);
    return Number(value);
  };
  const offset = number('offset') ?? 0;
  const limit = Math.min(MAX_LIMIT, number('limit') || MAX_LIMIT);
  return items.slice(offset, offset + limit);
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  const groups = limited(req, await listGroups(req, req.query.has('all_tenants')));
  const sources = await sourceGroupData(req, groups);
  const views = groups.map((g) => groupView(g, sources)).sort(byProjectAndName);
  return json(200, { security_groups: views });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  const group = await getGroup(req, validateId(req.params.id));
  return json(200, { security_group: await oneGroupView(req, group) });
}

async function create(req: ApiRequest): Promise<ApiResponse> {
  const { security_group: body } = parseBody(req, GroupBody);
  const group = await createGroup(req, body.name, body.description);
  return json(200, { security_group: await oneGroupView(req, group) });
}

async function update(req: ApiRequest): Promise<ApiResponse> {
  const { security_group: body } = parseBody(req, GroupBody);
  const current = await getGroup(req, validateId(req.params.id));
  const group = await updateGroup(req, current.id, body.name, body.description);
  return json(200, { security_group: await oneGroupView(req, group) });
}

async function remove(req: ApiRequest): Promise<ApiResponse> {
  const group = await getGroup(req, validateId(req.params.id));
  await destroyGroup(req, group.id);
  return json(202);
}

export const securityGroupProxyRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-security-groups', service: 'compute', handler: proxyOnly(list) },
  { method: 'POST', path: '/compute/v2.1/os-security-groups', service: 'compute', handler: proxyOnly(create) },
  { method: 'GET', path: '/compute/v2.1/os-security-groups/{id}', service: 'compute', handler: proxyOnly(show) },
  { method: 'PUT', path: '/compute/v2.1/os-security-groups/{id}', service: 'compute', handler: proxyOnly(update) },
  { method: 'DELETE', path: '/compute/v2.1/os-security-groups/{id}', service: 'compute', handler: proxyOnly(remove) },
];
