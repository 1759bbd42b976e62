import { zoneOf } from '../../../shared/domain/host.js';
import type { HostFilter } from './host-filter.js';

/** The host is in the availability zone the user asked for (any zone if none was asked). */
export const AvailabilityZoneFilter: HostFilter = {
  name: 'AvailabilityZoneFilter',
  passes: (host, spec) => !spec.availabilityZone || zoneOf(host) === spec.availabilityZone,
};
