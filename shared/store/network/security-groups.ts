import { randomUUID } from 'node:crypto';
import {
  ConcurrentModification,
  SecurityGroupNameAmbiguous,
  SecurityGroupNotFound,
  SecurityGroupRuleExists,
  SecurityGroupRuleNotFound,
} from '../../domain/network/errors.js';
import {
  DEFAULT_SECURITY_GROUP_DESCRIPTION,
  DEFAULT_SECURITY_GROUP_NAME,
  initialRules,
  ruleKey,
  SecurityGroupRuleSchema,
  SecurityGroupSchema,
  type CanonicalRule,
  type SecurityGroup,
  type SecurityGroupRule,
} from '../../domain/network/security-group.js';
import { getItem } from '../table.js';
import { consumeQuota, countQuota, releaseQuota } from './quota.js';
import {
  deleteResource,
  getResource,
  listChildren,
  listResources,
  parents,
  putResource,
  releaseGuard,
  takeGuard,
  updateResource,
  type Indexes,
} from './resource-table.js';
import { runSteps, type Step } from './transaction.js';

/**
 * Security groups and their rules. A group's rules are items of their own under the group's
 * gsi1 partition; every rule change also bumps the group's revision (as Neutron does), so a
 * write made from a stale read of the group (a duplicate rule racing in, a delete missing a new
 * rule) fails its condition instead of going through.
 */

export const getSecurityGroup = (id: string) => getResource('SECGROUP', id, SecurityGroupSchema);
export const listSecurityGroups = () => listResources('SECGROUP', SecurityGroupSchema);
export const listProjectSecurityGroups = (projectId: string) => listChildren(parents.projectSecurityGroups(projectId), SecurityGroupSchema);
export const getSecurityGroupRule = (id: string) => getResource('SECGROUPRULE', id, SecurityGroupRuleSchema);
export const listSecurityGroupRules = () => listResources('SECGROUPRULE', SecurityGroupRuleSchema);
export const listGroupRules = (groupId: string) => listChildren(parents.securityGroupRules(groupId), SecurityGroupRuleSchema);

export async function requireSecurityGroup(id: string): Promise<SecurityGroup> {
  const group = await getSecurityGroup(id);
  if (!group) throw new SecurityGroupNotFound(id);
  return group;
}

export async function requireSecurityGroupRule(id: string): Promise<SecurityGroupRule> {
  const rule = await getSecurityGroupRule(id);
  if (!rule) throw new SecurityGroupRuleNotFound(id);
  return rule;
}

export interface SecurityGroupWithRules {
  group: SecurityGroup;
  rules: SecurityGroupRule[];
}

const groupIndexes = (g: SecurityGroup): Indexes => ({ gsi1pk: parents.projectSecurityGroups(g.project_id), gsi1sk: `${g.name}#${g.id}` });
const ruleIndexes = (r: SecurityGroupRule): Indexes => ({ gsi1pk: parents.securityGroupRules(r.security_group_id), gsi1sk: `${r.created_at}#${r.id}` });

/** The item that makes a project's default group unique (Neutron's default_security_group row). */
const defaultGuardKey = (projectId: string) => ({ pk: `DEFAULTSG#${projectId}`, sk: 'DEFAULTSG' });

// --- groups ----------------------------------------------------------------------------------

function newRule(group: SecurityGroup, fields: Partial<CanonicalRule> & Pick<CanonicalRule, 'direction' | 'ethertype'>, now: string): SecurityGroupRule {
  return {
    id: randomUUID(),
    project_id: group.project_id,
    security_group_id: group.id,
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: null,
    ...fields,
    description: '',
    revision_number: 0,
    created_at: now,
    updated_at: now,
    belongs_to_default_sg: group.is_default,
  };
}

function groupCreateSteps(group: SecurityGroup, rules: SecurityGroupRule[]): Step[] {
  return [{ item: putResource('SECGROUP', group, groupIndexes(group)) }, ...rules.map((r) => ({ item: putResource('SECGROUPRULE', r, ruleIndexes(r)) }))];
}

/**
 * Writes a new group with its two egress rules, counted against the project's security_group
 * and security_group_rule quotas (Neutron counts the template rules too).
 */
export async function createSecurityGroup(group: SecurityGroup): Promise<SecurityGroupWithRules> {
  const rules = initialRules(false, group.id).map((r) => newRule(group, r, group.created_at));
  await runSteps([
    consumeQuota(group.project_id, 'security_group'),
    consumeQuota(group.project_id, 'security_group_rule', rules.length),
    ...groupCreateSteps(group, rules),
  ]);
  return { group, rules };
}

/**
 * The project's `default` group, made on first need with Neutron's default rules (any egress,
 * ingress from members of the group itself). Exactly one per project: a guard item naming it is
 * taken in the transaction that writes it, so of racing callers one writes and the others read
 * the winner's. It is counted in the project's usage but never refused for quota (Neutron makes
 * it outside the API's quota check), so a project always has it.
 */
export async function ensureDefaultSecurityGroup(projectId: string): Promise<SecurityGroup> {
  for (let attempt = 1; ; attempt++) {
    const existing = await defaultGroupOf(projectId);
    if (existing) return existing;
    const now = new Date().toISOString();
    const group: SecurityGroup = {
      id: randomUUID(),
      project_id: projectId,
      name: DEFAULT_SECURITY_GROUP_NAME,
      description: DEFAULT_SECURITY_GROUP_DESCRIPTION,
      revision_number: 1,
      created_at: now,
      updated_at: now,
      stateful: true,
      is_default: true,
    };
    const rules = initialRules(true, group.id).map((r) => newRule(group, r, now));
    class LostRace extends Error {}
    try {
      await runSteps([
        { item: takeGuard(defaultGuardKey(projectId), group.id), onConditionFailed: () => new LostRace() },
        countQuota(projectId, { security_group: 1, security_group_rule: rules.length }),
        ...groupCreateSteps(group, rules),
      ]);
      return group;
    } catch (err) {
      // Another caller made it first: read theirs (next turn of the loop).
      if (!(err instanceof LostRace || err instanceof ConcurrentModification) || attempt >= 5) throw err;
    }
  }
}

async function defaultGroupOf(projectId: string): Promise<SecurityGroup | undefined> {
  const guard = await getItem(defaultGuardKey(projectId), true);
  return guard ? getSecurityGroup(String(guard.holder)) : undefined;
}

export async function updateSecurityGroup(current: SecurityGroup, changes: Partial<Pick<SecurityGroup, 'name' | 'description'>>): Promise<SecurityGroup> {
  const next = { ...current, ...changes, revision_number: current.revision_number + 1, updated_at: new Date().toISOString() };
  await runSteps([{ item: updateResource('SECGROUP', current, changes, { indexes: changes.name !== undefined ? groupIndexes(next) : {} }) }]);
  return next;
}

/** Room left in one transaction (DynamoDB's 100 items) for rules, next to the group and quota items. */
const RULES_PER_TRANSACTION = 90;

/**
 * Removes a group with all its rules and gives their quota back, in one transaction conditional
 * on the group's revision (a rule added meanwhile fails it). The default group frees its guard,
 * so the next `ensureDefaultSecurityGroup` makes a new one.
 */
export async function deleteSecurityGroup(group: SecurityGroup): Promise<void> {
  for (let attempt = 1, current = group; ; attempt++) {
    try {
      await deleteGroupAndRules(current);
      return;
    } catch (err) {
      // A rule came or went meanwhile: read the group again and retry.
      if (!(err instanceof ConcurrentModification) || attempt >= 5) throw err;
      current = await requireSecurityGroup(group.id);
    }
  }
}

async function deleteGroupAndRules(group: SecurityGroup): Promise<void> {
  let rules = await listGroupRules(group.id);
  // Only with more rules than one transaction holds: the excess goes first.
  while (rules.length > RULES_PER_TRANSACTION) {
    const extra = rules.slice(RULES_PER_TRANSACTION);
    await runSteps([...extra.map((r) => ({ item: deleteResource('SECGROUPRULE', r) })), releaseQuota(group.project_id, 'security_group_rule', extra.length)]);
    rules = rules.slice(0, RULES_PER_TRANSACTION);
  }
  await runSteps([
    { item: deleteResource('SECGROUP', group) },
    ...rules.map((r) => ({ item: deleteResource('SECGROUPRULE', r) })),
    ...(group.is_default ? [{ item: releaseGuard(defaultGuardKey(group.project_id), group.id) }] : []),
    countQuota(group.project_id, { security_group: -1, security_group_rule: -rules.length }),
  ]);
}

// --- rules -----------------------------------------------------------------------------------

/**
 * Adds a rule to a group unless the group has the same rule already (SecurityGroupRuleExists),
 * counted against the group's project's quota. The group's revision bump makes the duplicate
 * check hold against a racing create: the loser re-reads and checks again.
 */
export async function createSecurityGroupRule(groupId: string, fields: CanonicalRule & { description: string }): Promise<SecurityGroupRule> {
  for (let attempt = 1; ; attempt++) {
    const group = await requireSecurityGroup(groupId);
    const existing = await listGroupRules(group.id);
    const wanted = ruleKey({ ...fields, security_group_id: group.id });
    const same = existing.find((r) => ruleKey(r) === wanted);
    if (same) throw new SecurityGroupRuleExists(same.id);
    const rule = { ...newRule(group, fields, new Date().toISOString()), description: fields.description };
    try {
      await runSteps([
        { item: updateResource('SECGROUP', group, {}) },
        consumeQuota(group.project_id, 'security_group_rule'),
        { item: putResource('SECGROUPRULE', rule, ruleIndexes(rule)) },
      ]);
      return rule;
    } catch (err) {
      if (!(err instanceof ConcurrentModification) || attempt >= 5) throw err;
    }
  }
}

export async function deleteSecurityGroupRule(rule: SecurityGroupRule): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const group = await getSecurityGroup(rule.security_group_id);
    try {
      await runSteps([
        { item: deleteResource('SECGROUPRULE', rule), onConditionFailed: () => new SecurityGroupRuleNotFound(rule.id) },
        ...(group ? [{ item: updateResource('SECGROUP', group, {}) }] : []),
        releaseQuota(rule.project_id, 'security_group_rule'),
      ]);
      return;
    } catch (err) {
      if (!(err instanceof ConcurrentModification) || attempt >= 5) throw err;
    }
  }
}

// --- for ports and servers -------------------------------------------------------------------

/**
 * The group ids a new port (or server) of the project gets: its default group when none are
 * asked for (made if need be), else each asked-for group by id or name, which must be the
 * project's (SecurityGroupNotFound otherwise; a name several groups have is ambiguous).
 */
export async function securityGroupIdsForPort(projectId: string, requested: string[] | undefined): Promise<string[]> {
  if (requested === undefined) return [(await ensureDefaultSecurityGroup(projectId)).id];
  if (requested.length === 0) return [];
  const defaultGroup = requested.includes(DEFAULT_SECURITY_GROUP_NAME) ? await ensureDefaultSecurityGroup(projectId) : undefined;
  // The index may not show a group made a moment ago: the default one is known anyway.
  const listed = await listProjectSecurityGroups(projectId);
  const groups = defaultGroup && !listed.some((g) => g.id === defaultGroup.id) ? [...listed, defaultGroup] : listed;
  const ids = requested.map((wanted) => {
    if (groups.some((g) => g.id === wanted)) return wanted;
    const named = groups.filter((g) => g.name === wanted);
    if (named.length > 1) throw new SecurityGroupNameAmbiguous(wanted);
    if (named.length === 0) throw new SecurityGroupNotFound(wanted);
    return named[0].id;
  });
  return [...new Set(ids)];
}
