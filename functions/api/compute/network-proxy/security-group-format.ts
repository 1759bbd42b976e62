import { isIP } from 'node:net';
import { BadRequest } from '../../../../shared/errors.js';

/**
 * Nova's view of Neutron's security groups (nova/network/security_group_api.py): only ingress
 * rules, ports as from/to (-1 for ICMP's "any", 1-65535 for TCP/UDP's), the remote as a cidr or
 * a group, and its checks of a rule before Neutron sees it.
 */

/** A Neutron group or rule as the Network API shows it (the fields the proxy reads). */
export interface NeutronRule {
  id: string;
  security_group_id: string;
  direction: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}
export interface NeutronGroup {
  id: string;
  name: string;
  description: string;
  tenant_id: string;
  security_group_rules?: NeutronRule[];
}

export interface NovaRule {
  id: string;
  parent_group_id: string;
  protocol: string | null;
  from_port: number | null;
  to_port: number | null;
  group_id: string | null;
  cidr: string;
}
export interface NovaGroup {
  id: string;
  name: string;
  description: string;
  project_id: string;
  rules: NovaRule[];
}

/** uuidutils.is_uuid_like: 32 hex digits, dashed or not. */
export const isUuidLike = (text: string) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(text);

/** `validate_id`: Nova with Neutron takes only uuids for group and rule ids (400 otherwise). */
export function validateId(id: string): string {
  if (!isUuidLike(id)) throw new BadRequest('Security group id should be uuid');
  return id;
}

/** oslo's is_valid_cidr: an IPv4 or IPv6 address with a prefix length that fits it. */
function isValidCidr(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/');
  if (rest.length || prefix === undefined || !/^\d+$/.test(prefix)) return false;
  const version = isIP(address);
  return version !== 0 && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** `parse_cidr`: none means everywhere (0.0.0.0/0); anything else must be a cidr (URL-decoded first). */
export function parseCidr(cidr: unknown): string {
  if (cidr === undefined || cidr === null || cidr === '') return '0.0.0.0/0';
  let text: string;
  try {
    text = decodeURIComponent(String(cidr));
  } catch {
    throw new BadRequest(`${String(cidr)} is not a valid IP network.`);
  }
  if (!isValidCidr(text)) throw new BadRequest(`${text} is not a valid IP network.`);
  return text;
}

export function novaRule(rule: NeutronRule): NovaRule {
  const noPorts = rule.protocol && rule.port_range_min === null && rule.port_range_max === null;
  const portProtocol = ['TCP', 'UDP'].includes((rule.protocol ?? '').toUpperCase());
  return {
    id: rule.id,
    parent_group_id: rule.security_group_id,
    protocol: rule.protocol,
    from_port: noPorts ? (portProtocol ? 1 : -1) : rule.port_range_min,
    to_port: noPorts ? (portProtocol ? 65535 : -1) : rule.port_range_max,
    group_id: rule.remote_group_id,
    cidr: parseCidr(rule.remote_ip_prefix),
  };
}

export function novaGroup(group: NeutronGroup): NovaGroup {
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    project_id: group.tenant_id,
    rules: (group.security_group_rules ?? []).filter((r) => r.direction === 'ingress').map(novaRule),
  };
}

/** Python's int() of a port as the API takes it (any JSON value): an integer, or a string of one. */
function toInteger(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

export interface NewRule {
  group_id?: string;
  cidr?: string;
  protocol?: string;
  from_port?: number;
  to_port?: number;
}

/**
 * `_new_ingress_rule`: a rule from a source group opens every port of TCP/UDP (or every ICMP
 * type) when no ports are given; a cidr rule needs a protocol and both ports (null when it has
 * not: "Not enough parameters"); ports are checked for the protocol.
 */
export function newIngressRule(ipProtocol: unknown, fromPort: unknown, toPort: unknown, source: { group_id?: string; cidr?: string }): NewRule | null {
  const values: NewRule = {};
  let from = fromPort ?? undefined;
  let to = toPort ?? undefined;
  if (source.group_id) {
    values.group_id = source.group_id;
    const upper = ipProtocol ? String(ipProtocol).toUpperCase() : '';
    if (upper === 'ICMP' && from === undefined && to === undefined) [from, to] = [-1, -1];
    else if ((upper === 'TCP' || upper === 'UDP') && from === undefined && to === undefined) [from, to] = [1, 65535];
  } else if (source.cidr) {
    values.cidr = source.cidr;
  }
  if (ipProtocol && from !== undefined && to !== undefined) {
    const protocol = String(ipProtocol);
    const upper = protocol.toUpperCase();
    const f = toInteger(from);
    const t = toInteger(to);
    if (f === undefined || t === undefined) {
      throw new BadRequest(`Invalid input received: ${upper === 'ICMP' ? 'Type and Code must be integers for ICMP protocol type' : 'To and From ports must be integers'}`);
    }
    if (!['TCP', 'UDP', 'ICMP'].includes(upper)) throw new BadRequest(`Invalid IP protocol ${protocol}.`);
    const range = (msg: string) => new BadRequest(`Invalid port range ${f}:${t}. ${msg}`);
    if ((upper === 'TCP' || upper === 'UDP') && f > t) throw range('Former value cannot be greater than the later');
    if ((upper === 'TCP' || upper === 'UDP') && (f < 1 || t > 65535)) throw range(`Valid ${upper} ports should be between 1-65535`);
    if (upper === 'ICMP' && (f < -1 || f > 255 || t < -1 || t > 255)) throw range('For ICMP, the type:code must be valid');
    Object.assign(values, { protocol, from_port: f, to_port: t });
  } else if (source.cidr) {
    return null;
  }
  return values;
}

/** `_rule_exists`: the group has a rule with the same source, ports and protocol. */
export function ruleExists(group: NovaGroup, rule: NewRule): boolean {
  const keys = ['group_id', 'cidr', 'from_port', 'to_port', 'protocol'] as const;
  return group.rules.some((r) => keys.every((k) => (r[k] ?? undefined) === (rule[k] ?? undefined)));
}

/** `_make_neutron_security_group_rules_list`: Nova's rules are ingress, IPv4 unless the cidr is IPv6; -1 means no port bound. */
export function neutronRuleBody(parentGroupId: string, rule: NewRule) {
  const ethertype = rule.cidr && isIP(rule.cidr.split('/')[0]) === 6 ? 'IPv6' : 'IPv4';
  return {
    security_group_rule: {
      direction: 'ingress',
      protocol: rule.protocol ?? null,
      ethertype,
      remote_ip_prefix: rule.cidr ?? null,
      security_group_id: parentGroupId,
      remote_group_id: rule.group_id ?? null,
      ...(rule.from_port !== undefined && rule.from_port !== -1 && { port_range_min: rule.from_port }),
      ...(rule.to_port !== undefined && rule.to_port !== -1 && { port_range_max: rule.to_port }),
    },
  };
}

/** The API's rule: the source group's name and project, or the cidr. */
export function ruleView(rule: NovaRule, groupData?: { name: string; tenant_id: string }) {
  return {
    id: rule.id,
    parent_group_id: rule.parent_group_id,
    ip_protocol: rule.protocol,
    from_port: rule.from_port,
    to_port: rule.to_port,
    group: rule.group_id && groupData ? groupData : {},
    ip_range: rule.group_id ? {} : { cidr: rule.cidr },
  };
}
