import type { HostFilter } from './host-filter.js';

/** Enough vCPUs left under the host's cpu_allocation_ratio (its aggregates', if they set one: the old AggregateCoreFilter). */
export const VcpuFilter: HostFilter = {
  name: 'VcpuFilter',
  passes: (host, spec) => host.used_vcpus + spec.vcpus <= host.vcpus_limit,
};
