import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  InvalidInput,
  NotAuthorized,
  SecurityGroupCannotRemoveDefault,
  SecurityGroupCannotUpdateDefault,
  SecurityGroupDefaultAlreadyExists,
  SecurityGroupInUse,
  SecurityGroupNotFound,
} from '../../../shared/domain/network/errors.js';
import { DEFAULT_SECURITY_GROUP_NAME, normalizedCidr, type SecurityGroup, type SecurityGroupRule } from '../../../shared/domain/network/security-group.js';
import { listPorts } from '../../../shared/store/network/ports.js';
import {
  createSecurityGroup,
  deleteSecurityGroup,
  ensureDefaultSecurityGroup,
  getSecurityGroup,
  listGroupRules,
  listProjectSecurityGroups,
  listSecurityGroupRules,
  listSecurityGroups,
  updateSecurityGroup,
} from '../../../shared/store/network/security-groups.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { isAdmin, type Caller } from '../identity/token-context.js';
import { ownsOrAdmin, owningProject } from './access.js';
import { applyListQuery, pickFields, type View } from './list-query.js';
import { isoSeconds } from './networks.js';

/** Neutron refuses the name `default` (any case) for a group of one's own: there is one already. */
function checkName(name: string | undefined) {
  if (name?.toLowerCase() === DEFAULT_SECURITY_GROUP_NAME) throw new SecurityGroupDefaultAlreadyExists();
}
const GroupFields = { name: z.string().max(255), description: z.string().max(255), stateful: z.boolean() };

const CreateSchema = z.strictObject({
  security_group: z.strictObject({ ...GroupFields, project_id: z.string(), tenant_id: z.string() }).partial(),
});
const UpdateSchema = z.strictObject({ security_group: z.strictObject(GroupFields).partial() });

export const SECURITY_GROUP_ATTRIBUTES = [
  'id', 'name', 'description', 'tenant_id', 'project_id', 'stateful', 'shared', 'revision_number', 'created_at', 'updated_at',
] as const;

/** A rule as Neutron shows it. */
export function securityGroupRuleView(r: SecurityGroupRule): View {
  return {
    id: r.id,
    tenant_id: r.project_id,
    project_id: r.project_id,
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: r.remote_ip_prefix,
    normalized_cidr: normalizedCidr(r.remote_ip_prefix),
    remote_group_id: r.remote_group_id,
    remote_address_group_id: null,
    belongs_to_default_sg: r.belongs_to_default_sg,
    description: r.description,
    tags: [],
    revision_number: r.revision_number,
    created_at: isoSeconds(r.created_at),
    updated_at: isoSeconds(r.updated_at),
  };
}

/** A group as Neutron shows it, its rules in full. */
export function securityGroupView(g: SecurityGroup, rules: SecurityGroupRule[]): View {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    stateful: g.stateful,
    tenant_id: g.project_id,
    project_id: g.project_id,
    shared: false,
    security_group_rules: rules.map(securityGroupRuleView),
    tags: [],
    revision_number: g.revision_number,
    created_at: isoSeconds(g.created_at),
    updated_at: isoSeconds(g.updated_at),
  };
}

/** A group the caller may see (its project's, or any for an admin), or Neutron's 404. */
export async function visibleSecurityGroup(caller: Caller, id: string): Promise<SecurityGroup> {
  const group = await getSecurityGroup(id);
  if (!group || !ownsOrAdmin(caller, group)) throw new SecurityGroupNotFound(id);
  return group;
}

/**
 * Neutron makes the default group of the project a list is about (the `project_id`/`tenant_id`
 * filter, else the caller's) before listing; only admins may cause it for another project.
 */
function projectToEnsure(req: ApiRequest): string {
  const asked = req.query.get('project_id') ?? req.query.get('tenant_id');
  return asked && isAdmin(req.auth) ? asked : req.auth.project_id;
}

const wantsRules = (query: URLSearchParams) => {
  const fields = query.getAll('fields').filter(Boolean);
  return fields.length === 0 || fields.includes('security_group_rules');
};

async function list(req: ApiRequest): Promise<ApiResponse> {
  const ensured = await ensureDefaultSecurityGroup(projectToEnsure(req));
  const admin = isAdmin(req.auth);
  let groups = admin ? await listSecurityGroups() : await listProjectSecurityGroups(req.auth.project_id);
  // The indexes may lag a group made just now; the default group is known to exist.
  if (ownsOrAdmin(req.auth, ensured) && !groups.some((g) => g.id === ensured.id)) groups = [...groups, ensured];
  const rules = wantsRules(req.query) ? await rulesOf(groups, admin) : new Map<string, SecurityGroupRule[]>();
  const views = groups.map((g) => securityGroupView(g, rules.get(g.id) ?? []));
  return json(200, { security_groups: applyListQuery(views, req.query, SECURITY_GROUP_ATTRIBUTES) });
}

/** The rules of the groups, by group: one scan for an admin's (all) groups, a query per group otherwise. */
async function rulesOf(groups: SecurityGroup[], all: boolean): Promise<Map<string, SecurityGroupRule[]>> {
  const rules = all ? await listSecurityGroupRules() : (await Promise.all(groups.map((g) => listGroupRules(g.id)))).flat();
  const out = new Map<string, SecurityGroupRule[]>();
  for (const r of rules) out.set(r.security_group_id, [...(out.get(r.security_group_id) ?? []), r]);
  return out;
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  await ensureDefaultSecurityGroup(req.auth.project_id);
  const group = await visibleSecurityGroup(req.auth, req.params.security_group_id);
  return json(200, { security_group: pickFields(securityGroupView(group, await listGroupRules(group.id)), req.query) });
}

function checkStateful(stateful: boolean | undefined) {
  if (stateful === false) throw new InvalidInput('stateless security groups are not offered by this cloud');
}

async function create(req: ApiRequest): Promise<ApiResponse> {
  const { security_group: body } = parseBody(req, CreateSchema);
  checkName(body.name);
  checkStateful(body.stateful);
  const projectId = owningProject(req.auth, body);
  // Neutron makes the project's default group before any other.
  await ensureDefaultSecurityGroup(projectId);
  const now = new Date().toISOString();
  const { group, rules } = await createSecurityGroup({
    id: randomUUID(),
    project_id: projectId,
    name: body.name ?? '',
    description: body.description ?? '',
    revision_number: 1,
    created_at: now,
    updated_at: now,
    stateful: true,
    is_default: false,
  });
  return json(201, { security_group: securityGroupView(group, rules) });
}

async function update(req: ApiRequest): Promise<ApiResponse> {
  const { security_group: body } = parseBody(req, UpdateSchema);
  checkName(body.name);
  checkStateful(body.stateful);
  const current = await visibleSecurityGroup(req.auth, req.params.security_group_id);
  if (current.is_default && body.name !== undefined) throw new SecurityGroupCannotUpdateDefault();
  const group = await updateSecurityGroup(current, {
    ...(body.name !== undefined && { name: body.name }),
    ...(body.description !== undefined && { description: body.description }),
  });
  return json(200, { security_group: securityGroupView(group, await listGroupRules(group.id)) });
}

/** A group on any port stays (409); the default group goes only by an admin's hand (409 for others). */
async function remove(req: ApiRequest): Promise<ApiResponse> {
  const group = await visibleSecurityGroup(req.auth, req.params.security_group_id);
  if (!ownsOrAdmin(req.auth, group)) throw new NotAuthorized('(rule:delete_security_group) is disallowed by policy');
  const ports = await listPorts();
  if (ports.some((p) => p.security_groups.includes(group.id))) throw new SecurityGroupInUse(group.id);
  if (group.is_default && !isAdmin(req.auth)) throw new SecurityGroupCannotRemoveDefault();
  await deleteSecurityGroup(group);
  return json(204);
}

export const securityGroupRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/security-groups', service: 'network', handler: list },
  { method: 'POST', path: '/networking/v2.0/security-groups', service: 'network', handler: create },
  { method: 'GET', path: '/networking/v2.0/security-groups/{security_group_id}', service: 'network', handler: show },
  { method: 'PUT', path: '/networking/v2.0/security-groups/{security_group_id}', service: 'network', handler: update },
  { method: 'DELETE', path: '/networking/v2.0/security-groups/{security_group_id}', service: 'network', handler: remove },
];
