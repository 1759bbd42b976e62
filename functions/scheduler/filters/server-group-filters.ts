import { maxPerHost } from '../../../shared/domain/server-group.js';
import type { HostFilter } from './host-filter.js';

/** An affinity group's members share one host: once one is placed, only that host passes. */
export const ServerGroupAffinityFilter: HostFilter = {
  name: 'ServerGroupAffinityFilter',
  passes: (host, spec) => spec.group?.group.policy !== 'affinity' || spec.group.affinityHost === null || spec.group.affinityHost === host.host,
};

/** An anti-affinity group has at most max_server_per_host (default 1) members on a host. */
export const ServerGroupAntiAffinityFilter: HostFilter = {
  name: 'ServerGroupAntiAffinityFilter',
  passes: (host, spec) => spec.group?.group.policy !== 'anti-affinity' || (spec.group.hosts[host.host] ?? 0) < maxPerHost(spec.group.group),
};
