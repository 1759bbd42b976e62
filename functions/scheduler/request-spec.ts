import type { Instance } from '../../shared/domain/instance.js';
import { diskOf } from '../../shared/store/instances.js';

/** What the scheduler needs to know about the instance it places (Nova's RequestSpec). */
export interface RequestSpec {
  instanceId: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  availabilityZone: string | null;
  /** Hosts that already failed to build it. */
  ignoreHosts: string[];
}

export function requestSpecOf(i: Instance): RequestSpec {
  return {
    instanceId: i.id,
    vcpus: i.flavor.vcpus,
    memoryMb: i.flavor.ram,
    diskGb: diskOf(i),
    availabilityZone: i.availability_zone,
    ignoreHosts: i.attempted_hosts,
  };
}
