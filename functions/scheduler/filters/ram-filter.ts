import type { HostFilter } from './host-filter.js';

/** Enough RAM left under the host's ram_allocation_ratio (its aggregates', if they set one: the old AggregateRamFilter). */
export const RamFilter: HostFilter = {
  name: 'RamFilter',
  passes: (host, spec) => host.used_memory_mb + spec.memoryMb <= host.memory_mb_limit,
};
