import { z } from 'zod';
import { BadRequest } from '../../../../shared/errors.js';
import { json, parseBody } from '../../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../../http/types.js';
import { proxyOnly } from './proxy-version.js';
import { addRule, getGroup, getRule, removeRule } from './security-group-api.js';
import { isUuidLike, newIngressRule, parseCidr, ruleExists, ruleView, validateId } from './security-group-format.js';

/** `/os-security-group-rules` (2.1-2.35): ingress rules made and deleted through Neutron. */

const uuidString = (field: string) =>
  z.string().refine(isUuidLike, { message: `${field} is not a 'uuid'` });

/** Nova's create_rules schema: ids are uuids; ports, protocol and cidr were never validated here (the API checks them). */
const RuleBody = z.looseObject({
  security_group_rule: z.looseObject({
    parent_group_id: uuidString('parent_group_id'),
    group_id: uuidString('group_id').nullable().optional(),
    to_port: z.unknown().optional(),
    from_port: z.unknown().optional(),
    ip_protocol: z.unknown().optional(),
    cidr: z.unknown().optional(),
  }),
});

/** A net other than 0.0.0.0 or :: with prefix 0 is a mistake Nova refuses. */
function checkPrefix(cidr: string) {
  const [net, prefix] = cidr.split('/');
  if (net !== '0.0.0.0' && net !== '::' && prefix === '0') throw new BadRequest(`Bad prefix for network in cidr ${cidr}`);
}

async function create(req: ApiRequest): Promise<ApiResponse> {
  const { security_group_rule: body } = parseBody(req, RuleBody);
  const group = await getGroup(req, body.parent_group_id);
  const source = body.group_id != null ? await getGroup(req, body.group_id) : undefined;
  const rule = source
    ? newIngressRule(body.ip_protocol, body.from_port, body.to_port, { group_id: source.id })
    : newIngressRule(body.ip_protocol, body.from_port, body.to_port, { cidr: parseCidr(body.cidr) });
  if (!rule) throw new BadRequest('Not enough parameters to build a valid rule.');
  if (rule.cidr) checkPrefix(rule.cidr);
  if (ruleExists(group, rule)) throw new BadRequest(`This rule already exists in group ${group.id}`);
  const created = await addRule(req, group.id, rule);
  return json(200, { security_group_rule: ruleView(created, source && { name: source.name, tenant_id: source.project_id }) });
}

async function remove(req: ApiRequest): Promise<ApiResponse> {
  const rule = await getRule(req, validateId(req.params.id));
  await getGroup(req, rule.parent_group_id);
  await removeRule(req, rule.id);
  return json(202);
}

export const securityGroupRuleProxyRoutes: Route[] = [
  { method: 'POST', path: '/compute/v2.1/os-security-group-rules', service: 'compute', handler: proxyOnly(create) },
  { method: 'DELETE', path: '/compute/v2.1/os-security-group-rules/{id}', service: 'compute', handler: proxyOnly(remove) },
];
