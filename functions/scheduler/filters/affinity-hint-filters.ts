import type { HostFilter } from './host-filter.js';

/** `same_host`: only a host that runs one of the named servers (Nova's SameHostFilter). */
export const SameHostFilter: HostFilter = {
  name: 'SameHostFilter',
  passes: (host, spec) => !spec.sameHosts || spec.sameHosts.includes(host.host),
};

/** `different_host`: no host that runs one of the named servers (Nova's DifferentHostFilter). */
export const DifferentHostFilter: HostFilter = {
  name: 'DifferentHostFilter',
  passes: (host, spec) => !spec.differentHosts?.includes(host.host),
};
