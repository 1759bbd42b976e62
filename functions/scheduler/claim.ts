import { zoneOf, type Host } from '../../shared/domain/host.js';
import type { Aggregate } from '../../shared/domain/aggregate.js';
import type { Instance } from '../../shared/domain/instance.js';
import { TaskState } from '../../shared/domain/instance-states.js';
import { keys } from '../../shared/store/keys.js';
import { aggregateUnchanged } from '../../shared/store/aggregates.js';
import { placementClaimItems } from '../../shared/store/server-groups.js';
import { cancelledIndexes, isConditionFailure, tableName, type TransactItem } from '../../shared/store/table.js';
import { deadlineFor, versionedUpdate, writeTransaction } from '../../shared/store/instances.js';
import { ratioAggregatesOf, withAggregateRatios } from './allocation-ratios.js';
import type { RequestSpec } from './request-spec.js';

export type ClaimResult = 'claimed' | 'host-full' | 'instance-changed' | 'group-policy';

/**
 * Claims the request's resources on a host and assigns the instance to it in one transaction.
 * The host update is conditional on usage still leaving room (against the limits read, so a
 * change of allocation ratio in between also fails it), under the ratios its aggregates give it
 * (allocation-ratios.ts; those aggregates must be unchanged too); parallel claims that all fit
 * succeed, and none can over-claim. The instance update is conditional on its version. A member of a
 * server group also takes its place in the group, conditional on the group's policy (a parallel
 * member may have taken the host an anti-affinity group allows once, say).
 */
export async function claimHost(host: Host, instance: Instance, spec: RequestSpec, aggregates: Aggregate[]): Promise<ClaimResult> {
  const hostUpdate = hostClaimUpdate(host, spec, aggregates);
  const instanceUpdate = versionedUpdate(instance, {
    host: host.host,
    claimed_host: host.host,
    // As in Nova, an instance scheduled without a zone takes its host's zone.
    availability_zone: zoneOf(host),
    task_state: TaskState.SPAWNING,
    task_deadline: deadlineFor(TaskState.SPAWNING),
  });
  const groupItems = spec.group ? placementClaimItems(spec.group.group, host.host) : [];
  const ratioItems = ratioAggregatesOf(aggregates, host.host).map(aggregateUnchanged);
  try {
    await writeTransaction([hostUpdate, instanceUpdate, ...groupItems, ...ratioItems]);
    return 'claimed';
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const refused = cancelledIndexes(err);
    if (refused.includes(1)) return 'instance-changed';
    if (refused.includes(0)) return 'host-full';
    // An aggregate's ratios changed since they were read: place again with the new ones.
    return refused.some((i) => i >= 2 + groupItems.length) ? 'host-full' : 'group-policy';
  }
}

/**
 * The claim of the request's resources on a host, conditional on usage still leaving room under
 * the limits read and the ratios its aggregates give (see claimHost); for moves as for boots.
 */
export function hostClaimUpdate(host: Host, spec: Pick<RequestSpec, 'vcpus' | 'memoryMb' | 'diskGb'>, aggregates: Aggregate[]): TransactItem {
  const limits = withAggregateRatios(host, aggregates);
  return {
    Update: {
      TableName: tableName(),
      Key: keys.host(host.host),
      UpdateExpression: 'ADD used_vcpus :v, used_memory_mb :m, used_disk_gb :d, running_vms :one',
      ConditionExpression:
        '#status = :enabled AND vcpus_limit = :vl AND memory_mb_limit = :ml AND disk_gb_limit = :dl AND used_vcpus <= :maxv AND used_memory_mb <= :maxm AND used_disk_gb <= :maxd',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':v': spec.vcpus,
        ':m': spec.memoryMb,
        ':d': spec.diskGb,
        ':one': 1,
        ':enabled': 'enabled',
        ':vl': host.vcpus_limit,
        ':ml': host.memory_mb_limit,
        ':dl': host.disk_gb_limit,
        ':maxv': limits.vcpus_limit - spec.vcpus,
        ':maxm': limits.memory_mb_limit - spec.memoryMb,
        ':maxd': limits.disk_gb_limit - spec.diskGb,
      },
    },
  };
}
