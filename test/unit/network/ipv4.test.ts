import { describe, expect, it } from 'vitest';
import { defaultPools, netmaskOf, overlaps, parseCidr, poolAddresses, toAddress, toInt } from '../../../shared/domain/network/ipv4.js';

describe('IPv4 subnets', () => {
  it('parses CIDRs and refuses host bits, bad prefixes and bad addresses', () => {
    expect(parseCidr('10.0.0.0/16')).toEqual({ base: toInt('10.0.0.0'), prefix: 16, size: 65536 });
    expect(() => parseCidr('10.0.0.1/16')).toThrow(/10.0.0.0\/16' is recommended/);
    expect(() => parseCidr('10.0.0.0/33')).toThrow();
    expect(() => parseCidr('10.0.0.256/24')).toThrow();
    expect(() => parseCidr('10.0.0.0')).toThrow();
    expect(netmaskOf(parseCidr('192.168.1.0/24'))).toBe('255.255.255.0');
  });

  it('tells overlapping subnets apart', () => {
    expect(overlaps(parseCidr('10.0.0.0/16'), parseCidr('10.0.200.0/24'))).toBe(true);
    expect(overlaps(parseCidr('10.0.0.0/24'), parseCidr('10.0.1.0/24'))).toBe(false);
  });

  it("makes Neutron's default pools around the gateway", () => {
    const c = parseCidr('192.168.0.0/24');
    expect(defaultPools(c, toInt('192.168.0.1'))).toEqual([{ start: '192.168.0.2', end: '192.168.0.254' }]);
    expect(defaultPools(c, toInt('192.168.0.100'))).toEqual([
      { start: '192.168.0.1', end: '192.168.0.99' },
      { start: '192.168.0.101', end: '192.168.0.254' },
    ]);
    expect(defaultPools(c, null)).toEqual([{ start: '192.168.0.1', end: '192.168.0.254' }]);
    expect([...poolAddresses([{ start: '10.0.0.254', end: '10.0.1.1' }])].map(toAddress)).toEqual(['10.0.0.254', '10.0.0.255', '10.0.1.0', '10.0.1.1']);
  });
});
