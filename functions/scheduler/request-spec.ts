import type { Instance } from '../../shared/domain/instance.js';
import type { GroupPlacement } from '../../shared/domain/server-group.js';
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
  projectId: string;
  flavorExtraSpecs: Record<string, string>;
  /** Its server group's policy and where the other members are; absent = no group. */
  group?: GroupPlacement;
}

export function requestSpecOf(i: Instance, group?: GroupPlacement): RequestSpec {
  return {
    instanceId: i.id,
    vcpus: i.flavor.vcpus,
    memoryMb: i.flavor.ram,
    diskGb: diskOf(i),
    availabilityZone: i.availability_zone,
    ignoreHosts: i.attempted_hosts,
    projectId: i.project_id,
    flavorExtraSpecs: i.flavor.extra_specs,
    group,
  };
}
