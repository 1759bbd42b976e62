import { AggregateInstanceExtraSpecsFilter, AggregateMultiTenancyIsolation } from './aggregate-filters.js';
import { AvailabilityZoneFilter } from './availability-zone-filter.js';
import { ComputeFilter } from './compute-filter.js';
import { DiskFilter } from './disk-filter.js';
import type { HostFilter } from './host-filter.js';
import { IgnoreAttemptedHostsFilter } from './ignore-attempted-hosts-filter.js';
import { DifferentHostFilter, SameHostFilter } from './affinity-hint-filters.js';
import { ImagePropertiesFilter } from './image-properties-filter.js';
import { RamFilter } from './ram-filter.js';
import { ServerGroupAffinityFilter, ServerGroupAntiAffinityFilter } from './server-group-filters.js';
import { VcpuFilter } from './vcpu-filter.js';

/** The enabled filters, in the order they run (cheap and most selective first). */
export const enabledFilters: HostFilter[] = [
  ComputeFilter,
  AvailabilityZoneFilter,
  IgnoreAttemptedHostsFilter,
  VcpuFilter,
  RamFilter,
  DiskFilter,
  ServerGroupAffinityFilter,
  ServerGroupAntiAffinityFilter,
  AggregateInstanceExtraSpecsFilter,
  AggregateMultiTenancyIsolation,
  SameHostFilter,
  DifferentHostFilter,
  ImagePropertiesFilter,
];
