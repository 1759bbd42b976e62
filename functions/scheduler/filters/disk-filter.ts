import type { HostFilter } from './host-filter.js';

/** Enough local disk left under the host's disk_allocation_ratio (its aggregates', if they set one: the old AggregateDiskFilter). */
export const DiskFilter: HostFilter = {
  name: 'DiskFilter',
  passes: (host, spec) => host.used_disk_gb + spec.diskGb <= host.disk_gb_limit,
};
