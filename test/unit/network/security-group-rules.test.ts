import { describe, expect, it } from 'vitest';
import {
  canonicalRule,
  convertIpPrefix,
  convertProtocol,
  initialRules,
  normalizedCidr,
  protocolName,
  ruleKey,
  type RuleRequest,
} from '../../../shared/domain/network/security-group.js';

/** The error a rule request is refused with: its NeutronError type, status and message. */
function refusal(req: RuleRequest): { type: string; status: number; message: string } {
  try {
    canonicalRule(req);
  } catch (err) {
    const e = err as Error & { status: number };
    return { type: e.name, status: e.status, message: e.message };
  }
  throw new Error(`accepted: ${JSON.stringify(req)}`);
}

const ingress = (fields: Omit<RuleRequest, 'direction'>): RuleRequest => ({ direction: 'ingress', ...fields });

describe('security group rule values (Neutron conversions)', () => {
  it('takes protocol names in any case, numbers 0-255 as strings, any/null as no protocol', () => {
    expect(convertProtocol('TCP')).toBe('tcp');
    expect(convertProtocol('icmp')).toBe('icmp');
    expect(convertProtocol(6)).toBe('6');
    expect(convertProtocol('17')).toBe('17');
    expect(convertProtocol(0)).toBe('0');
    expect(convertProtocol('any')).toBeNull();
    expect(convertProtocol(null)).toBeNull();
    expect(convertProtocol(undefined)).toBeNull();
    expect(convertProtocol('sctp')).toBe('sctp');
  });

  it.each(['bogus', '256', '-1', '6.5', ''])('refuses protocol %j with SecurityGroupRuleInvalidProtocol', (protocol) => {
    const e = refusal(ingress({ protocol }));
    expect(e).toMatchObject({ type: 'SecurityGroupRuleInvalidProtocol', status: 400 });
    expect(e.message).toContain(`protocol ${protocol} not supported`);
  });

  it('defaults ethertype to IPv4 and takes it in any case', () => {
    expect(canonicalRule(ingress({})).ethertype).toBe('IPv4');
    expect(canonicalRule(ingress({ ethertype: 'ipv6' })).ethertype).toBe('IPv6');
    expect(refusal(ingress({ ethertype: 'IPv5' }))).toMatchObject({ type: 'SecurityGroupRuleInvalidEtherType', status: 400 });
  });

  it('keeps a single TCP port and a TCP range; the whole range is no range', () => {
    expect(canonicalRule(ingress({ protocol: 'tcp', port_range_min: 22, port_range_max: 22 }))).toMatchObject({ port_range_min: 22, port_range_max: 22 });
    expect(canonicalRule(ingress({ protocol: 'udp', port_range_min: '1000', port_range_max: '2000' }))).toMatchObject({ port_range_min: 1000, port_range_max: 2000 });
    expect(canonicalRule(ingress({ protocol: 'tcp', port_range_min: 1, port_range_max: 65535 }))).toMatchObject({ port_range_min: null, port_range_max: null });
    expect(canonicalRule(ingress({ protocol: '6', port_range_min: 80, port_range_max: 81 }))).toMatchObject({ protocol: '6', port_range_min: 80 });
  });

  it('refuses bad port ranges as Neutron does', () => {
    expect(refusal(ingress({ protocol: 'tcp', port_range_min: 30, port_range_max: 20 }))).toMatchObject({ type: 'SecurityGroupInvalidPortRange', status: 400 });
    expect(refusal(ingress({ protocol: 'tcp', port_range_min: 22 }))).toMatchObject({ type: 'SecurityGroupInvalidPortRange' });
    expect(refusal(ingress({ protocol: 'tcp', port_range_min: 0, port_range_max: 10 }))).toMatchObject({ type: 'SecurityGroupInvalidPortValue' });
    expect(refusal(ingress({ protocol: 'tcp', port_range_min: 1, port_range_max: 70000 }))).toMatchObject({ type: 'SecurityGroupInvalidPortValue', status: 400 });
    expect(refusal(ingress({ protocol: 'tcp', port_range_min: 'x', port_range_max: 1 }))).toMatchObject({ type: 'SecurityGroupInvalidPortValue' });
    expect(refusal(ingress({ port_range_min: 22, port_range_max: 22 }))).toMatchObject({
      type: 'SecurityGroupProtocolRequiredWithPorts',
      message: 'Must also specify protocol if port range is given.',
    });
    expect(refusal(ingress({ protocol: 'gre', port_range_min: 22, port_range_max: 22 }))).toMatchObject({ type: 'SecurityGroupInvalidProtocolForPort' });
  });

  it('takes ICMP type in port_range_min and code in port_range_max, each 0-255', () => {
    expect(canonicalRule(ingress({ protocol: 'icmp' }))).toMatchObject({ protocol: 'icmp', port_range_min: null, port_range_max: null });
    expect(canonicalRule(ingress({ protocol: 'icmp', port_range_min: 8, port_range_max: 0 }))).toMatchObject({ port_range_min: 8, port_range_max: 0 });
    expect(canonicalRule(ingress({ protocol: 'icmp', port_range_min: 3 }))).toMatchObject({ port_range_min: 3, port_range_max: null });
    expect(refusal(ingress({ protocol: 'icmp', port_range_min: 256 }))).toMatchObject({ type: 'SecurityGroupInvalidIcmpValue' });
    expect(refusal(ingress({ protocol: 'icmp', port_range_min: 8, port_range_max: 300 }))).toMatchObject({ type: 'SecurityGroupInvalidIcmpValue' });
    expect(refusal(ingress({ protocol: 'icmp', port_range_max: 0 }))).toMatchObject({ type: 'SecurityGroupMissingIcmpType' });
  });

  it('spells IPv6 ICMP ipv6-icmp and refuses IPv6-only protocols with IPv4', () => {
    expect(canonicalRule(ingress({ ethertype: 'IPv6', protocol: 'icmp' })).protocol).toBe('ipv6-icmp');
    expect(canonicalRule(ingress({ ethertype: 'IPv6', protocol: 'icmpv6' })).protocol).toBe('ipv6-icmp');
    expect(canonicalRule(ingress({ ethertype: 'IPv6', protocol: 1 })).protocol).toBe('58');
    expect(refusal(ingress({ ethertype: 'IPv4', protocol: 'ipv6-icmp' }))).toMatchObject({ type: 'SecurityGroupEthertypeConflictWithProtocol' });
  });

  it('adds a prefix length to a remote address and keeps host bits, as netaddr prints it', () => {
    expect(convertIpPrefix('10.0.0.5')).toBe('10.0.0.5/32');
    expect(convertIpPrefix('10.0.0.5/24')).toBe('10.0.0.5/24');
    expect(convertIpPrefix('2001:DB8:0:0:0:0:0:1/64')).toBe('2001:db8::1/64');
    expect(convertIpPrefix('::')).toBe('::/128');
    expect(convertIpPrefix('::ffff:192.0.2.1')).toBe('::ffff:c000:201/128');
    expect(normalizedCidr('10.0.0.5/24')).toBe('10.0.0.0/24');
    expect(normalizedCidr('2001:db8::1/64')).toBe('2001:db8::/64');
    expect(normalizedCidr('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(normalizedCidr(null)).toBeNull();
  });

  it.each(['10.0.0.256/24', '10.0.0.0/33', 'nonsense', '1:2:3/64', '10.0.0.0/24/1', '2001:db8::/129'])('refuses remote prefix %j with InvalidCIDR', (prefix) => {
    expect(refusal(ingress({ remote_ip_prefix: prefix }))).toMatchObject({ type: 'InvalidCIDR', status: 400 });
  });

  it('wants the remote prefix of the rule ethertype, and not both a prefix and a group', () => {
    expect(refusal(ingress({ ethertype: 'IPv4', remote_ip_prefix: '::/0' }))).toMatchObject({ type: 'SecurityGroupRuleParameterConflict' });
    expect(refusal(ingress({ ethertype: 'IPv6', remote_ip_prefix: '0.0.0.0/0' }))).toMatchObject({ type: 'SecurityGroupRuleParameterConflict' });
    expect(refusal(ingress({ remote_ip_prefix: '0.0.0.0/0', remote_group_id: '5f1f0e6c-4c59-4d6c-8c0e-0d8f2b3a1c11' }))).toMatchObject({
      type: 'SecurityGroupMultipleRemoteEntites',
      status: 400,
    });
  });
});

describe('rule identity', () => {
  const sg = '5f1f0e6c-4c59-4d6c-8c0e-0d8f2b3a1c11';
  const key = (req: RuleRequest) => ruleKey({ ...canonicalRule(req), security_group_id: sg });

  it('equates "anywhere" with no prefix and a protocol name with its number', () => {
    expect(key(ingress({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' }))).toBe(
      key(ingress({ protocol: '6', port_range_min: 22, port_range_max: 22 })),
    );
    expect(key(ingress({ protocol: 'tcp' }))).not.toBe(key(ingress({ protocol: 'udp' })));
    expect(key(ingress({ protocol: 'tcp' }))).not.toBe(key({ direction: 'egress', protocol: 'tcp' }));
    expect(key(ingress({ remote_ip_prefix: '10.0.0.0/8' }))).not.toBe(key(ingress({})));
  });

  it('names protocols for the data plane', () => {
    expect(protocolName('6')).toBe('tcp');
    expect(protocolName('icmpv6')).toBe('ipv6-icmp');
    expect(protocolName('200')).toBe('200');
    expect(protocolName(null)).toBeNull();
  });

  it('gives a new group egress to anywhere, and the default group ingress from itself', () => {
    expect(initialRules(false, sg)).toEqual([
      { direction: 'egress', ethertype: 'IPv4', remote_group_id: null },
      { direction: 'egress', ethertype: 'IPv6', remote_group_id: null },
    ]);
    expect(initialRules(true, sg).filter((r) => r.direction === 'ingress')).toEqual([
      { direction: 'ingress', ethertype: 'IPv4', remote_group_id: sg },
      { direction: 'ingress', ethertype: 'IPv6', remote_group_id: sg },
    ]);
  });
});
