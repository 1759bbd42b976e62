import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { dynamo } from '../aws.js';
import { InstanceSchema, type Instance } from '../domain/instance.js';
import { QUOTA_DEFAULTS, type QuotaUsage } from '../domain/quota.js';
import { VmState } from '../domain/instance-states.js';
import { deletedRecordPut } from './deleted-instances.js';
import { expireActions } from './instance-actions.js';
import { leaveGroup, placementReleaseItems } from './server-groups.js';
import { releaseDevicePorts } from './network/device-ports.js';
import { DEADLINE_PARTITION, byType, keys, projectInstances } from './keys.js';
import { cancelledIndexes, conditionalWrite, getItem, isConditionFailure, queryAll, tableName, type TransactItem } from './table.js';

export class QuotaExceededError extends Error {
  constructor(readonly resource: keyof QuotaUsage, readonly requested: number, readonly used: number, readonly limit: number) {
    super(`Quota exceeded for ${resource}: Requested ${requested}, but already used ${used} of ${limit} ${resource}`);
  }
}

/** The stored form of an instance: the record plus its keys and index attributes. */
function toItem(i: Instance): Record<string, unknown> {
  return {
    ...keys.instance(i.id),
    type: 'instance',
    ...i,
    gsi1pk: projectInstances(i.project_id),
    gsi1sk: `${i.created_at}#${i.id}`,
    gsi2pk: byType('INSTANCE'),
    gsi2sk: `${i.created_at}#${i.id}`,
    ...deadlineIndex(i.task_deadline, i.id),
  };
}

function deadlineIndex(deadline: string | null, id: string) {
  return deadline ? { gsi3pk: DEADLINE_PARTITION, gsi3sk: `${deadline}#${id}` } : {};
}

export function fromItem(item: Record<string, unknown>): Instance {
  return InstanceSchema.parse(item);
}

export async function getInstance(id: string, consistent = true): Promise<Instance | undefined> {
  const item = await getItem(keys.instance(id), consistent);
  return item ? fromItem(item) : undefined;
}

export async function listProjectInstances(projectId: string): Promise<Instance[]> {
  const items = await queryAll({
    IndexName: 'gsi1',
    KeyConditionExpression: 'gsi1pk = :p',
    ExpressionAttributeValues: { ':p': projectInstances(projectId) },
  });
  return items.map(fromItem);
}

export async function listAllInstances(): Promise<Instance[]> {
  const items = await queryAll({
    IndexName: 'gsi2',
    KeyConditionExpression: 'gsi2pk = :t',
    ExpressionAttributeValues: { ':t': byType('INSTANCE') },
  });
  return items.map(fromItem);
}

/** Instances whose task deadline has passed (gsi3 holds only instances with a running task). */
export async function listOverdueInstances(now: string): Promise<Instance[]> {
  const items = await queryAll({
    IndexName: 'gsi3',
    KeyConditionExpression: 'gsi3pk = :d AND gsi3sk < :now',
    ExpressionAttributeValues: { ':d': DEADLINE_PARTITION, ':now': now },
  });
  return items.map(fromItem);
}

export const getQuotaUsage = (projectId: string): Promise<QuotaUsage> => readUsage(keys.quotaUsage(projectId));

/** One user's share of a project's usage (per-user quotas). */
export const getUserQuotaUsage = (projectId: string, userId: string): Promise<QuotaUsage> => readUsage(keys.userQuotaUsage(projectId, userId));

export const usageOf = (instances: Instance[]): QuotaUsage => ({
  instances: instances.length,
  cores: instances.reduce((n, i) => n + i.flavor.vcpus, 0),
  ram: instances.reduce((n, i) => n + i.flavor.ram, 0),
});

/** Adds `want` to a usage item, conditional on staying within `limits`. */
export function usageUpdate(key: { pk: string; sk: string }, want: QuotaUsage, limits: QuotaUsage): TransactItem {
  return {
    Update: {
      TableName: tableName(),
      Key: key,
      UpdateExpression: 'ADD instances :i, cores :c, ram :r',
      ConditionExpression:
        'attribute_not_exists(pk) OR ((attribute_not_exists(instances) OR instances <= :mi) AND (attribute_not_exists(cores) OR cores <= :mc) AND (attribute_not_exists(ram) OR ram <= :mr))',
      ExpressionAttributeValues: {
        ':i': want.instances,
        ':c': want.cores,
        ':r': want.ram,
        ':mi': limits.instances - want.instances,
        ':mc': limits.cores - want.cores,
        ':mr': limits.ram - want.ram,
      },
    },
  };
}

async function readUsage(key: { pk: string; sk: string }): Promise<QuotaUsage> {
  const out = await dynamo().send(new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }));
  return { instances: Number(out.Item?.instances ?? 0), cores: Number(out.Item?.cores ?? 0), ram: Number(out.Item?.ram ?? 0) };
}

/**
 * Writes new instances and counts them against the project's quota and their user's (Nova's
 * per-user quotas; the user's limits are the project's unless set) in one transaction, so
 * parallel creates can never exceed either and a failed create leaves no record behind.
 */
export async function createInstances(instances: Instance[], limits: QuotaUsage = QUOTA_DEFAULTS, extra: TransactItem[] = [], userLimits: QuotaUsage = limits): Promise<void> {
  const { project_id: projectId, user_id: userId } = instances[0];
  const want = usageOf(instances);
  const resources = ['instances', 'cores', 'ram'] as const;
  for (const r of resources) {
    if (want[r] > limits[r]) throw new QuotaExceededError(r, want[r], (await getQuotaUsage(projectId))[r], limits[r]);
    if (want[r] > userLimits[r]) throw new QuotaExceededError(r, want[r], (await getUserQuotaUsage(projectId, userId))[r], userLimits[r]);
  }
  const puts: TransactItem[] = instances.map((i) => ({
    Put: { TableName: tableName(), Item: toItem(i), ConditionExpression: 'attribute_not_exists(pk)' },
  }));
  try {
    await writeTransaction([usageUpdate(keys.quotaUsage(projectId), want, limits), usageUpdate(keys.userQuotaUsage(projectId, userId), want, userLimits), ...puts, ...extra]);
  } catch (err) {
    const refused = cancelledIndexes(err);
    const [key, max] = refused.includes(0) ? [keys.quotaUsage(projectId), limits] : refused.includes(1) ? [keys.userQuotaUsage(projectId, userId), userLimits] : [];
    if (!key || !max) throw err;
    const used = await readUsage(key);
    const over = resources.find((r) => used[r] + want[r] > max[r]) ?? 'instances';
    throw new QuotaExceededError(over, want[over], used[over], max[over]);
  }
}

/** The quota releases (the project's and the user's) that go in the same transaction as an instance's removal. */
export function quotaRelease(i: Instance): TransactItem[] {
  // A move holds the larger of both flavors until it ends.
  const held = { vcpus: Math.max(i.flavor.vcpus, i.move?.old_flavor.vcpus ?? 0, i.move?.new_flavor.vcpus ?? 0), ram: Math.max(i.flavor.ram, i.move?.old_flavor.ram ?? 0, i.move?.new_flavor.ram ?? 0) };
  const release = { UpdateExpression: 'ADD instances :i, cores :c, ram :r', ExpressionAttributeValues: { ':i': -1, ':c': -held.vcpus, ':r': -held.ram } };
  return [
    { Update: { TableName: tableName(), Key: keys.quotaUsage(i.project_id), ...release } },
    { Update: { TableName: tableName(), Key: keys.userQuotaUsage(i.project_id, i.user_id), ...release } },
  ];
}

/** The release of an instance's claim on its host (and its place in its server group), in the same transaction as the change that ends it. */
export function claimRelease(i: Instance): TransactItem[] {
  // A move's second claim (store/migrations.ts) goes with the instance's own.
  const other = i.move?.other_claim;
  const otherRelease = other ? claimOnHostRelease(i, other.host, other.flavor) : [];
  if (!i.claimed_host) return otherRelease;
  // Both claims on one host (a resize to the same host) are one update: a transaction touches an item once.
  if (other?.host === i.claimed_host) return [...placementReleaseItems(i), hostClaimRelease(i.claimed_host, i.flavor, other.flavor)];
  return [...claimOnHostRelease(i, i.claimed_host, i.flavor), ...otherRelease];
}

/** The release of one claim of the instance: of `flavor` on `host`, with its server group place there. */
export function claimOnHostRelease(i: Instance, host: string, flavor: Instance['flavor']): TransactItem[] {
  return [...placementReleaseItems({ ...i, claimed_host: host }), hostClaimRelease(host, flavor)];
}

/** The release of claims of these flavors (one each) on a host. */
export function hostClaimRelease(host: string, ...flavors: Instance['flavor'][]): TransactItem {
  const sum = (f: (x: Instance['flavor']) => number) => flavors.reduce((n, x) => n + f(x), 0);
  return {
    Update: {
      TableName: tableName(),
      Key: keys.host(host),
      UpdateExpression: 'ADD used_vcpus :v, used_memory_mb :m, used_disk_gb :d, running_vms :n',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':v': -sum((f) => f.vcpus), ':m': -sum((f) => f.ram), ':d': -sum((f) => diskOf({ flavor: f })), ':n': -flavors.length },
    },
  };
}

export const diskOf = (i: Pick<Instance, 'flavor'>) => i.flavor.disk + i.flavor.ephemeral + Math.ceil(i.flavor.swap / 1024);

/**
 * Removes an instance for good, releasing its quota and host claim exactly once: the delete is
 * conditional on the version read, so a repeated or stale call fails and releases nothing.
 * Returns false when the instance was already gone or had changed. The server's ports go first
 * (Nova's deallocate_for_instance); its instance actions stay readable for a while (2.21), then expire,
 * and so does a record of it as deleted (listed with `deleted=true` and `changes-since`). A
 * soft-deleted instance released its quota when it was soft-deleted.
 */
export async function removeInstance(i: Instance): Promise<boolean> {
  // Ports first: if this removal fails, the retried one finds them already released.
  await releaseDevicePorts(i.id);
  const removed = await transact([
    {
      Delete: {
        TableName: tableName(),
        Key: keys.instance(i.id),
        ConditionExpression: 'version = :v',
        ExpressionAttributeValues: { ':v': i.version },
      },
    },
    ...(i.vm_state === VmState.SOFT_DELETED ? [] : quotaRelease(i)),
    ...claimRelease(i),
    deletedRecordPut(i),
  ]);
  if (removed) {
    await expireActions(i.id);
    if (i.server_group_id) await leaveGroup(i.server_group_id, i.id);
  }
  return removed;
}

export type InstanceChanges = Partial<Omit<Instance, 'id' | 'version' | 'project_id' | 'created_at'>>;

/** The update of an instance, conditional on the version read; as a transaction item or alone. */
export function versionedUpdate(i: Instance, changes: InstanceChanges, now = new Date().toISOString()): TransactItem {
  const next = { ...changes, updated_at: now, version: i.version + 1 };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':expected': i.version };
  const sets: string[] = [];
  for (const [k, v] of Object.entries(next)) {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    sets.push(`#${k} = :${k}`);
  }
  let update = `SET ${sets.join(', ')}`;
  if ('task_deadline' in changes) {
    if (changes.task_deadline) {
      sets.push('gsi3pk = :gsi3pk', 'gsi3sk = :gsi3sk');
      values[':gsi3pk'] = DEADLINE_PARTITION;
      values[':gsi3sk'] = `${changes.task_deadline}#${i.id}`;
      update = `SET ${sets.join(', ')}`;
    } else {
      update += ' REMOVE gsi3pk, gsi3sk';
    }
  }
  return {
    Update: {
      TableName: tableName(),
      Key: keys.instance(i.id),
      UpdateExpression: update,
      ConditionExpression: 'version = :expected',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

/** Applies changes if the instance is still at the version read. Returns the new record, or undefined if it changed meanwhile. */
export async function updateInstance(i: Instance, changes: InstanceChanges): Promise<Instance | undefined> {
  const item = versionedUpdate(i, changes).Update!;
  try {
    const out = await dynamo().send(new UpdateCommand({ ...item, ReturnValues: 'ALL_NEW' }));
    return fromItem(out.Attributes!);
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

/**
 * Runs a transaction. DynamoDB cancels a transaction that collides with another one in flight
 * on the same item (reason `TransactionConflict`) even when every condition holds: that is not
 * a lost race, so it is retried here with a short jittered backoff.
 */
export async function writeTransaction(items: TransactItem[], attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await dynamo().send(new TransactWriteCommand({ TransactItems: items }));
      return;
    } catch (err) {
      if (attempt >= attempts || !isTransactionConflict(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 25 * attempt));
    }
  }
}

function isTransactionConflict(err: unknown): boolean {
  if (!(err instanceof TransactionCanceledException)) return false;
  const codes = (err.CancellationReasons ?? []).map((r) => r.Code);
  return codes.includes('TransactionConflict') && !codes.includes('ConditionalCheckFailed');
}

/** Runs a transaction; false if any condition failed (someone else changed the state first). */
export function transact(items: TransactItem[]): Promise<boolean> {
  return conditionalWrite(writeTransaction(items));
}

/** Seconds each task may take before the sweeper steps in. */
export const TASK_DEADLINE_SECONDS: Record<string, number> = {
  scheduling: 120,
  spawning: 600,
  deleting: 300,
  // A clean shutdown waits up to POWER_OFF_TIMEOUT_SECONDS before forcing the guest off.
  'powering-off': 300,
  'powering-on': 300,
  'soft-deleting': 300,
  restoring: 300,
  // A soft reboot waits for the guest to shut down before it resets it.
  rebooting: 300,
  rebooting_hard: 300,
  pausing: 120,
  unpausing: 120,
  // Suspend writes the guest's memory to disk; resume reads it back.
  suspending: 600,
  resuming: 600,
  // A rebuild may download a new image first.
  rebuilding: 900,
  // A rescue may download its rescue image first.
  rescuing: 900,
  unrescuing: 300,
  // The disk is copied and uploaded; also how long the presigned part URLs stay valid.
  image_snapshot: 3600,
  image_backup: 3600,
  // A move: placing it, the source setting its disk aside, the destination copying it and starting the guest.
  resize_prep: 300,
  resize_migrating: 900,
  resize_migrated: 300,
  resize_finish: 3600,
  resize_confirming: 600,
  resize_reverting: 900,
  // Shelve powers the guest off, then copies and uploads its disk (the part URLs last as long).
  shelving: 3600,
  shelving_offloading: 300,
  // Scheduling, or powering a shelved guest on; a spawn then has its own deadline.
  unshelving: 300,
};

export function deadlineFor(task: string, now = Date.now()): string {
  return new Date(now + (TASK_DEADLINE_SECONDS[task] ?? 600) * 1000).toISOString();
}
