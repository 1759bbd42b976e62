import { z } from 'zod';
import { NotAuthorized, SecurityGroupNotFound, SecurityGroupRuleNotFound } from '../../../shared/domain/network/errors.js';
import { canonicalRule, DirectionSchema, type SecurityGroupRule } from '../../../shared/domain/network/security-group.js';
import {
  createSecurityGroupRule,
  deleteSecurityGroupRule,
  getSecurityGroupRule,
  listGroupRules,
  listSecurityGroupRules,
} from '../../../shared/store/network/security-groups.js';
import { syncSecurityGroupHosts } from '../../../shared/network-plan/sync.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { isAdmin, type Caller } from '../identity/token-context.js';
import { ownsOrAdmin } from './access.js';
import { applyListQuery, pickFields } from './list-query.js';
import { securityGroupRuleView, visibleSecurityGroup } from './security-groups.js';

/** Values are checked by `canonicalRule` with Neutron's own errors; the schema only shapes them. */
const port = z.union([z.number(), z.string()]).nullable();
const CreateSchema = z.strictObject({
  security_group_rule: z
    .strictObject({
      security_group_id: z.string(),
      direction: DirectionSchema,
      ethertype: z.string(),
      protocol: z.union([z.string(), z.number()]).nullable(),
      port_range_min: port,
      port_range_max: port,
      remote_ip_prefix: z.string().nullable(),
      remote_group_id: z.string().nullable(),
      remote_address_group_id: z.null(),
      description: z.string().max(255),
      project_id: z.string(),
      tenant_id: z.string(),
    })
    .partial()
    .required({ security_group_id: true, direction: true }),
});

export const SECURITY_GROUP_RULE_ATTRIBUTES = [
  'id', 'tenant_id', 'project_id', 'security_group_id', 'direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max',
  'remote_ip_prefix', 'normalized_cidr', 'remote_group_id', 'remote_address_group_id', 'belongs_to_default_sg', 'description',
  'revision_number', 'created_at', 'updated_at',
] as const;

/** A rule the caller may see (one of its project's groups, or any for an admin), or 404. */
async function visibleRule(caller: Caller, id: string): Promise<SecurityGroupRule> {
  const rule = await getSecurityGroupRule(id);
  if (!rule || !ownsOrAdmin(caller, rule)) throw new SecurityGroupRuleNotFound(id);
  return rule;
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  // `security group rule list G` asks for one group's rules: read only those.
  const groups = req.query.getAll('security_group_id');
  const rules = groups.length === 1 ? await listGroupRules(groups[0]) : await listSecurityGroupRules();
  const views = rules.filter((r) => ownsOrAdmin(req.auth, r)).map(securityGroupRuleView);
  return json(200, { security_group_rules: applyListQuery(views, req.query, SECURITY_GROUP_RULE_ATTRIBUTES) });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  const rule = await visibleRule(req.auth, req.params.security_group_rule_id);
  return json(200, { security_group_rule: pickFields(securityGroupRuleView(rule), req.query) });
}

/**
 * Neutron's checks in its order: the values (canonicalRule), then the remote group and the group
 * itself must exist for the caller, then no equal rule in the group (409). The rule belongs to the
 * group's project and counts against its quota; a project named in the body must be that one.
 */
async function create(req: ApiRequest): Promise<ApiResponse> {
  const { security_group_rule: body } = parseBody(req, CreateSchema);
  const fields = canonicalRule(body);
  if (fields.remote_group_id) await visibleSecurityGroup(req.auth, fields.remote_group_id);
  const group = await visibleSecurityGroup(req.auth, body.security_group_id);
  const asked = body.project_id ?? body.tenant_id;
  if (asked && asked !== group.project_id && !isAdmin(req.auth)) throw new SecurityGroupNotFound(group.id);
  const rule = await createSecurityGroupRule(group.id, { ...fields, description: body.description ?? '' });
  await syncSecurityGroupHosts(group.id, req.requestId);
  return json(201, { security_group_rule: securityGroupRuleView(rule) });
}

async function remove(req: ApiRequest): Promise<ApiResponse> {
  const rule = await visibleRule(req.auth, req.params.security_group_rule_id);
  if (!ownsOrAdmin(req.auth, rule)) throw new NotAuthorized('(rule:delete_security_group_rule) is disallowed by policy');
  await deleteSecurityGroupRule(rule);
  await syncSecurityGroupHosts(rule.security_group_id, req.requestId);
  return json(204);
}

export const securityGroupRuleRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/security-group-rules', service: 'network', handler: list },
  { method: 'POST', path: '/networking/v2.0/security-group-rules', service: 'network', handler: create },
  { method: 'GET', path: '/networking/v2.0/security-group-rules/{security_group_rule_id}', service: 'network', handler: show },
  { method: 'DELETE', path: '/networking/v2.0/security-group-rules/{security_group_rule_id}', service: 'network', handler: remove },
];
