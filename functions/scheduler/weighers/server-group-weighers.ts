import type { HostWeigher } from './host-weigher.js';

/**
 * The soft policies (2.15): prefer the hosts with the most (soft-affinity) or fewest
 * (soft-anti-affinity) members of the group, without refusing any. Nova's multipliers default to
 * 1.0, which the RAM spread of the same weight can cancel out; 2.0 here, so the policy wins.
 */
const membersOn = (host: string, spec: Parameters<HostWeigher['weigh']>[1]) => spec.group?.hosts[host] ?? 0;

export const ServerGroupSoftAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAffinityWeigher',
  multiplier: 2.0,
  weigh: (host, spec) => (spec.group?.group.policy === 'soft-affinity' ? membersOn(host.host, spec) : 0),
};

export const ServerGroupSoftAntiAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAntiAffinityWeigher',
  multiplier: 2.0,
  weigh: (host, spec) => (spec.group?.group.policy === 'soft-anti-affinity' ? -membersOn(host.host, spec) : 0),
};
