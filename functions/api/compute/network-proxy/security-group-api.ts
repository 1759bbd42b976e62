import { BadRequest, Conflict, Forbidden, NotFound } from '../../../../shared/errors.js';
import type { ApiRequest } from '../../http/types.js';
import { isAdmin } from '../../identity/token-context.js';
import { NeutronClientError, neutronClient, onNeutronStatus } from './neutron-client.js';
import { isUuidLike, neutronRuleBody, novaGroup, novaRule, type NeutronGroup, type NewRule, type NovaGroup, type NovaRule } from './security-group-format.js';

/**
 * nova/network/security_group_api.py: Nova's security group calls made on Neutron, with Neutron's
 * errors turned into Nova's (404 stays 404; a 409 on delete is Nova's 400, on create its 403).
 */

const notFound = (e: NeutronClientError) => new NotFound(e.message);

export async function getGroup(req: ApiRequest, id: string): Promise<NovaGroup> {
  const body = await onNeutronStatus(neutronClient(req).get<{ security_group: NeutronGroup }>(`/security-groups/${encodeURIComponent(id)}`), { 404: notFound });
  return novaGroup(body.security_group);
}

/** The project's groups; an admin's `all_tenants` lists every project's. */
export async function listGroups(req: ApiRequest, allTenants: boolean): Promise<NovaGroup[]> {
  const query = allTenants && isAdmin(req.auth) ? {} : { tenant_id: req.auth.project_id };
  const body = await neutronClient(req).get<{ security_groups: NeutronGroup[] }>('/security-groups', query);
  return body.security_groups.map(novaGroup);
}

export async function createGroup(req: ApiRequest, name: string, description: string): Promise<NovaGroup> {
  const body = await onNeutronStatus(neutronClient(req).post<{ security_group: NeutronGroup }>('/security-groups', { security_group: { name, description } }), {
    400: (e) => new BadRequest(e.message),
    409: (e) => new Forbidden(e.message),
  });
  return novaGroup(body.security_group);
}

export async function updateGroup(req: ApiRequest, id: string, name: string, description: string): Promise<NovaGroup> {
  const body = await onNeutronStatus(neutronClient(req).put<{ security_group: NeutronGroup }>(`/security-groups/${id}`, { security_group: { name, description } }), {
    404: notFound,
  });
  return novaGroup(body.security_group);
}

export async function destroyGroup(req: ApiRequest, id: string): Promise<void> {
  await onNeutronStatus(neutronClient(req).delete(`/security-groups/${id}`), { 404: notFound, 409: (e) => new BadRequest(e.message) });
}

export async function addRule(req: ApiRequest, parentGroupId: string, rule: NewRule): Promise<NovaRule> {
  const body = await onNeutronStatus(neutronClient(req).post<{ security_group_rule: any }>('/security-group-rules', neutronRuleBody(parentGroupId, rule)), {
    404: notFound,
    409: (e) => new Forbidden(e.message),
    400: (e) => new BadRequest(e.message),
  });
  return novaRule(body.security_group_rule);
}

export async function getRule(req: ApiRequest, id: string): Promise<NovaRule> {
  const body = await onNeutronStatus(neutronClient(req).get<{ security_group_rule: any }>(`/security-group-rules/${id}`), { 404: notFound });
  return novaRule(body.security_group_rule);
}

export async function removeRule(req: ApiRequest, id: string): Promise<void> {
  await onNeutronStatus(neutronClient(req).delete(`/security-group-rules/${id}`), { 404: notFound });
}

/**
 * neutronclient's find_resourceid_by_name_or_id: an id of a group the caller sees, else a name
 * among the project's groups; none is a 404 (in Nova's words), several a 409.
 */
export async function findGroupId(req: ApiRequest, nameOrId: string): Promise<string> {
  const neutron = neutronClient(req);
  if (isUuidLike(nameOrId)) {
    const byId = await neutron.get<{ security_groups: { id: string }[] }>('/security-groups', { id: nameOrId, fields: 'id' });
    if (byId.security_groups.length) return byId.security_groups[0].id;
  }
  const byName = await neutron.get<{ security_groups: { id: string }[] }>('/security-groups', { name: nameOrId, tenant_id: req.auth.project_id, fields: 'id' });
  if (byName.security_groups.length > 1) {
    throw new Conflict(`Multiple security_group matches found for name '${nameOrId}', use an ID to be more specific.`);
  }
  if (byName.security_groups.length === 0) throw new NotFound(`Security group ${nameOrId} is not found for project ${req.auth.project_id}`);
  return byName.security_groups[0].id;
}
