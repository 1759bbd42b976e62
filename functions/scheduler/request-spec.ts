import type { Instance } from '../../shared/domain/instance.js';
import type { GroupPlacement } from '../../shared/domain/server-group.js';
import { diskOf, getInstance } from '../../shared/store/instances.js';
import { getServerGroup, readPlacement } from '../../shared/store/server-groups.js';

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
  imageProperties: Record<string, string>;
  /** Its server group's policy and where the other members are; absent = no group. */
  group?: GroupPlacement;
  /** The hosts of the servers named by `same_host` (it must go to one of them) and `different_host` (to none); absent = no hint. */
  sameHosts?: string[];
  differentHosts?: string[];
  /** An admin's forced host: the only candidate, and no filter runs (as in Nova). */
  forcedHost: string | null;
  /** An admin's requested destination (2.74): the only candidate, and the filters still run. */
  requestedHost?: string | null;
}

/** Where the servers a hint names run: hosts of those that have one. */
export type HostsOf = (instanceIds: string[]) => Promise<string[]>;

export async function requestSpecOf(i: Instance, group: GroupPlacement | undefined, hostsOf: HostsOf): Promise<RequestSpec> {
  const { same_host, different_host } = i.scheduler_hints;
  return {
    instanceId: i.id,
    vcpus: i.flavor.vcpus,
    memoryMb: i.flavor.ram,
    diskGb: diskOf(i),
    availabilityZone: i.availability_zone,
    ignoreHosts: i.attempted_hosts,
    projectId: i.project_id,
    flavorExtraSpecs: i.flavor.extra_specs,
    imageProperties: i.image_meta.properties ?? {},
    group,
    ...(same_host && { sameHosts: await hostsOf(same_host) }),
    ...(different_host && { differentHosts: await hostsOf(different_host) }),
    forcedHost: i.forced_host,
    requestedHost: i.requested_host ?? null,
  };
}

/** The request spec of an instance as stored: its server group's placement and the hosts its hints name, read from the table. */
export async function storedRequestSpec(i: Instance): Promise<RequestSpec> {
  const group = i.server_group_id ? await getServerGroup(i.server_group_id) : undefined;
  return requestSpecOf(i, group && (await readPlacement(group)), hostsOfInstances);
}

/** The hosts the named servers hold claims on (servers not placed, or gone, hold none). */
async function hostsOfInstances(ids: string[]): Promise<string[]> {
  const instances = await Promise.all(ids.map((id) => getInstance(id)));
  return [...new Set(instances.flatMap((i) => (i?.claimed_host ? [i.claimed_host] : [])))];
}
