import type { HostFilter } from './host-filter.js';

/** A reschedule never goes back to a host that already failed to build the instance. */
export const IgnoreAttemptedHostsFilter: HostFilter = {
  name: 'IgnoreAttemptedHostsFilter',
  passes: (host, spec) => !spec.ignoreHosts.includes(host.host),
};
