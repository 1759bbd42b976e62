import { z } from 'zod';
import {
  InvalidCIDR,
  SecurityGroupEthertypeConflictWithProtocol,
  SecurityGroupInvalidIcmpValue,
  SecurityGroupInvalidPortRange,
  SecurityGroupInvalidPortValue,
  SecurityGroupInvalidProtocolForPort,
  SecurityGroupMissingIcmpType,
  SecurityGroupMultipleRemoteEntites,
  SecurityGroupProtocolRequiredWithPorts,
  SecurityGroupRuleInvalidEtherType,
  SecurityGroupRuleInvalidProtocol,
  SecurityGroupRuleParameterConflict,
} from './errors.js';
import { isIpv4, toAddress, toInt } from './ipv4.js';
import { StandardAttributesSchema } from './network.js';

/** A security group as stored. Its rules are items of their own (SecurityGroupRule). */
export const SecurityGroupSchema = StandardAttributesSchema.extend({
  /** Stateless groups are not offered: every group is stateful (conntrack), Neutron's default. */
  stateful: z.boolean().default(true),
  /** The project's `default` group, made lazily (Neutron's DefaultSecurityGroup row). */
  is_default: z.boolean().default(false),
});
export type SecurityGroup = z.infer<typeof SecurityGroupSchema>;

export const DirectionSchema = z.enum(['ingress', 'egress']);
export const EthertypeSchema = z.enum(['IPv4', 'IPv6']);
export type Ethertype = z.infer<typeof EthertypeSchema>;

/** A security group rule as stored, with its attributes in the canonical form `canonicalRule` gives. */
export const SecurityGroupRuleSchema = StandardAttributesSchema.omit({ name: true }).extend({
  security_group_id: z.string().uuid(),
  direction: DirectionSchema,
  ethertype: EthertypeSchema,
  /** A protocol name of Neutron's map (lower case), or its number as a string; null = any. */
  protocol: z.string().nullable(),
  port_range_min: z.number().int().nullable(),
  port_range_max: z.number().int().nullable(),
  /** As given, with a prefix length added (Neutron keeps host bits here; see `normalizedCidr`). */
  remote_ip_prefix: z.string().nullable(),
  remote_group_id: z.string().uuid().nullable(),
  /** Copied from the group when the rule is made (a group never stops or starts being the default). */
  belongs_to_default_sg: z.boolean().default(false),
});
export type SecurityGroupRule = z.infer<typeof SecurityGroupRuleSchema>;

export const DEFAULT_SECURITY_GROUP_NAME = 'default';
export const DEFAULT_SECURITY_GROUP_DESCRIPTION = 'Default security group';

/** The rules a new group starts with: any egress; the default group also admits its own members. */
export function initialRules(groupIsDefault: boolean, groupId: string): Pick<SecurityGroupRule, 'direction' | 'ethertype' | 'remote_group_id'>[] {
  const egress = (['IPv4', 'IPv6'] as const).map((ethertype) => ({ direction: 'egress' as const, ethertype, remote_group_id: null }));
  const ingress = (['IPv4', 'IPv6'] as const).map((ethertype) => ({ direction: 'ingress' as const, ethertype, remote_group_id: groupId }));
  return groupIsDefault ? [...egress, ...ingress] : egress;
}

/** neutron_lib's IP_PROTOCOL_MAP: the protocol names a rule may use. */
export const IP_PROTOCOL_MAP: Readonly<Record<string, number>> = {
  ah: 51, dccp: 33, egp: 8, esp: 50, gre: 47, hopopt: 0, icmp: 1, igmp: 2, ip: 0, ipip: 4, 'ipv6-encap': 41, 'ipv6-frag': 44,
  'ipv6-icmp': 58, icmpv6: 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, ospf: 89, pgm: 113, rsvp: 46, sctp: 132,
  tcp: 6, udp: 17, udplite: 136, vrrp: 112,
};
const NUMBER_TO_NAME: Record<string, string> = Object.fromEntries(
  Object.entries(IP_PROTOCOL_MAP).filter(([name]) => name !== 'icmpv6' && name !== 'ip').map(([name, n]) => [String(n), name]),
);
/** Protocols whose rules may carry a port range (Neutron's SG_PORT_PROTO_NAMES/NUMS). */
const PORT_PROTOCOLS = ['dccp', 'sctp', 'tcp', 'udp', 'udplite'];
const ICMP_NUMBERS = [1, 58];
/** Protocols only IPv6 has (Neutron refuses them with ethertype IPv4). */
const IPV6_ONLY = ['ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', '41', '44', '58', '59', '60', '43'];

/** neutron's convert_protocol: 'any'/null → null, a name of the map (any case), or a number 0-255 as a string. */
export function convertProtocol(value: string | number | null | undefined): string | null {
  if (value === null || value === undefined || value === 'any') return null;
  const text = String(value);
  if (/^\d+$/.test(text.trim())) {
    const n = Number(text);
    if (n <= 255) return String(n);
  } else if (typeof value === 'string' && value.toLowerCase() in IP_PROTOCOL_MAP) {
    return value.toLowerCase();
  }
  throw new SecurityGroupRuleInvalidProtocol(text, ['any', ...Object.keys(IP_PROTOCOL_MAP)]);
}

/** The protocol's number (null = any); `icmpv6` is `ipv6-icmp`. */
export function protocolNumber(protocol: string | null): number | null {
  if (protocol === null) return null;
  return IP_PROTOCOL_MAP[protocol] ?? Number(protocol);
}

/** neutron's convert_ethertype_to_case_insensitive. */
export function convertEthertype(value: string | undefined): Ethertype {
  if (value === undefined) return 'IPv4';
  const match = EthertypeSchema.options.find((e) => e.toLowerCase() === value.toLowerCase());
  if (!match) throw new SecurityGroupRuleInvalidEtherType(value, EthertypeSchema.options);
  return match;
}

/** neutron's convert_validate_port_value: an integer 0-65535 (digits in a string count). */
export function convertPort(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new SecurityGroupInvalidPortValue(String(value));
  return n;
}

/** A parsed IP prefix: its version, address bits, and length. */
interface IpPrefix {
  version: 4 | 6;
  bits: bigint;
  length: number;
}

function parseIpv6(input: string): bigint | undefined {
  let text = input;
  if (text.includes('.')) {
    // An IPv4 tail (::ffff:192.0.2.1) is the last two groups.
    const at = text.lastIndexOf(':');
    const v4 = text.slice(at + 1);
    if (!isIpv4(v4)) return undefined;
    const n = toInt(v4);
    text = `${text.slice(0, at + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  if (!/^[0-9a-f:]+$/i.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s ? s.split(':') : []);
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if ([...head, ...tail].some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) return undefined;
  const all = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952 text (as netaddr prints): lower case, the longest run of two or more zero groups as `::`. */
function formatIpv6(bits: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((bits >> BigInt(16 * (7 - i))) & 0xffffn));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

function parsePrefix(text: string): IpPrefix {
  const [address, length, ...extra] = text.trim().split('/');
  if (extra.length === 0 && address) {
    if (isIpv4(address)) {
      if (length === undefined || (/^\d{1,2}$/.test(length) && Number(length) <= 32)) {
        return { version: 4, bits: BigInt(toInt(address)), length: length === undefined ? 32 : Number(length) };
      }
    } else {
      const bits = parseIpv6(address);
      if (bits !== undefined && (length === undefined || (/^\d{1,3}$/.test(length) && Number(length) <= 128))) {
        return { version: 6, bits, length: length === undefined ? 128 : Number(length) };
      }
    }
  }
  throw new InvalidCIDR(text);
}

const formatAddress = (version: 4 | 6, bits: bigint) => (version === 4 ? toAddress(Number(bits)) : formatIpv6(bits));
const hostMask = (p: IpPrefix) => (1n << BigInt((p.version === 4 ? 32 : 128) - p.length)) - 1n;

/** netaddr's str(IPNetwork(text)): the address as given (host bits kept) with its prefix length. */
export function convertIpPrefix(text: string): string {
  const p = parsePrefix(text);
  return `${formatAddress(p.version, p.bits)}/${p.length}`;
}

/** The prefix with its host bits cleared (Neutron's `normalized_cidr`): what a firewall matches. */
export function normalizedCidr(prefix: string | null): string | null {
  if (!prefix) return null;
  const p = parsePrefix(prefix);
  return `${formatAddress(p.version, p.bits & ~hostMask(p))}/${p.length}`;
}

const prefixVersion = (prefix: string) => parsePrefix(prefix).version;

/** A rule as a client asks for it, after the request schema. */
export interface RuleRequest {
  direction: 'ingress' | 'egress';
  ethertype?: string;
  protocol?: string | number | null;
  port_range_min?: number | string | null;
  port_range_max?: number | string | null;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
}

export type CanonicalRule = Pick<
  SecurityGroupRule,
  'direction' | 'ethertype' | 'protocol' | 'port_range_min' | 'port_range_max' | 'remote_ip_prefix' | 'remote_group_id'
>;

/**
 * Neutron's conversions and checks of a new rule, in its order (neutron/db/securitygroups_db.py
 * `_validate_base_security_group_rule_attributes`): IPv6 ICMP spelled `ipv6-icmp`; the whole
 * port range 1-65535 means no range; ports only with a protocol that has them (TCP, UDP, ...:
 * 1-65535, min <= max) or ICMP (type 0-255 in min, code 0-255 in max); the remote prefix of the
 * rule's ethertype; at most one of remote prefix and remote group. Throws Neutron's errors.
 */
export function canonicalRule(req: RuleRequest): CanonicalRule {
  const ethertype = convertEthertype(req.ethertype);
  let protocol = convertProtocol(req.protocol);
  let min = convertPort(req.port_range_min);
  let max = convertPort(req.port_range_max);
  const remotePrefix = req.remote_ip_prefix ? convertIpPrefix(req.remote_ip_prefix) : null;
  const remoteGroup = req.remote_group_id || null;

  if (ethertype === 'IPv6') {
    if (protocol === 'icmp' || protocol === 'icmpv6') protocol = 'ipv6-icmp';
    else if (protocol === '1') protocol = '58';
  }
  if (min === 1 && max === 65535) min = max = null;
  checkPorts(protocol, min, max);
  if (remotePrefix && `IPv${prefixVersion(remotePrefix)}` !== ethertype) throw new SecurityGroupRuleParameterConflict(ethertype, req.remote_ip_prefix!);
  if (protocol && IPV6_ONLY.includes(protocol) && ethertype === 'IPv4') throw new SecurityGroupEthertypeConflictWithProtocol(ethertype, protocol);
  if (remotePrefix && remoteGroup) throw new SecurityGroupMultipleRemoteEntites();
  return { direction: req.direction, ethertype, protocol, port_range_min: min, port_range_max: max, remote_ip_prefix: remotePrefix, remote_group_id: remoteGroup };
}

function checkPorts(protocol: string | null, min: number | null, max: number | null) {
  if (min === null && max === null) return;
  if (!protocol) throw new SecurityGroupProtocolRequiredWithPorts();
  const number = protocolNumber(protocol)!;
  if (PORT_PROTOCOLS.some((p) => IP_PROTOCOL_MAP[p] === number)) {
    if (min === 0 || max === 0) throw new SecurityGroupInvalidPortValue('0');
    if (min === null || max === null || min > max) throw new SecurityGroupInvalidPortRange();
  } else if (ICMP_NUMBERS.includes(number)) {
    for (const [value, attr, field] of [[min, 'port_range_min', 'type'], [max, 'port_range_max', 'code']] as const) {
      if (value !== null && value > 255) throw new SecurityGroupInvalidIcmpValue(field, attr, value);
    }
    if (min === null && max !== null) throw new SecurityGroupMissingIcmpType(max);
  } else {
    throw new SecurityGroupInvalidProtocolForPort(String(number), PORT_PROTOCOLS.map((p) => p.toUpperCase()).join(', '));
  }
}

/**
 * What makes two rules of a group the same (neutron's `_rule_to_key`): all attributes but the
 * description, a protocol by name or number alike, and "anywhere" prefixes equal to none.
 */
export function ruleKey(rule: CanonicalRule & { security_group_id: string }): string {
  const prefix = rule.remote_ip_prefix === '0.0.0.0/0' || rule.remote_ip_prefix === '::/0' ? null : rule.remote_ip_prefix;
  const protocol = rule.protocol === null ? null : protocolNumber(rule.protocol);
  return JSON.stringify([rule.security_group_id, rule.direction, rule.ethertype, protocol, rule.port_range_min, rule.port_range_max, rule.remote_group_id, prefix]);
}

/** The canonical name of a protocol for the data plane: a name when it has one, else its number. */
export function protocolName(protocol: string | null): string | null {
  if (protocol === null) return null;
  if (protocol === 'icmpv6') return 'ipv6-icmp';
  return protocol in IP_PROTOCOL_MAP ? protocol : (NUMBER_TO_NAME[protocol] ?? protocol);
}
