import { DeleteCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import type { Instance } from '../domain/instance.js';
import { QUOTA_DEFAULTS } from '../domain/quota.js';
import { ServerGroupSchema, type GroupPlacement, type ServerGroup } from '../domain/server-group.js';
import { byType, keys } from './keys.js';
import { cancelledIndexes, getItem, isConditionFailure, listByType, queryAll, tableName, type TransactItem } from './table.js';

/**
 * Server groups in the single table: the group item, and in its partition one item per member
 * (`MEMBER#<instance>`), per host with claimed members (`HOST#<host>`, a count) and, for
 * affinity, the host they share (`AFFINITY`). The scheduler's claim updates the count items in
 * its transaction, conditional on the policy, so parallel boots never break it (Nova checks late,
 * on the compute host, and reschedules instead).
 */

const groupPk = (id: string) => `SERVERGROUP#${id}`;
const groupKey = (id: string) => ({ pk: groupPk(id), sk: 'SERVERGROUP' });
const memberKey = (id: string, instanceId: string) => ({ pk: groupPk(id), sk: `MEMBER#${instanceId}` });
const hostKey = (id: string, host: string) => ({ pk: groupPk(id), sk: `HOST#${host}` });
const affinityKey = (id: string) => ({ pk: groupPk(id), sk: 'AFFINITY' });

export class ServerGroupQuotaExceeded extends Error {}

export async function getServerGroup(id: string): Promise<ServerGroup | undefined> {
  const item = await getItem(groupKey(id), true);
  return item ? ServerGroupSchema.parse(item) : undefined;
}

export async function listServerGroups(): Promise<ServerGroup[]> {
  return (await listByType('SERVERGROUP')).map((item) => ServerGroupSchema.parse(item));
}

/** The instance ids of a group's members. */
export async function listMembers(id: string): Promise<string[]> {
  const items = await queryAll({ KeyConditionExpression: 'pk = :p AND begins_with(sk, :m)', ExpressionAttributeValues: { ':p': groupPk(id), ':m': 'MEMBER#' }, ConsistentRead: true });
  return items.map((i) => String(i.sk).slice('MEMBER#'.length));
}

/** Creates a group and counts it in the project's server_groups quota, in one transaction. */
export async function createServerGroup(g: ServerGroup, limit: number = QUOTA_DEFAULTS.server_groups): Promise<void> {
  try {
    await dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName(),
              Key: keys.quotaUsage(g.project_id),
              UpdateExpression: 'ADD server_groups :one',
              ConditionExpression: 'attribute_not_exists(server_groups) OR server_groups < :max',
              ExpressionAttributeValues: { ':one': 1, ':max': limit },
            },
          },
          { Put: { TableName: tableName(), Item: { ...groupKey(g.id), type: 'server_group', ...g, gsi2pk: byType('SERVERGROUP'), gsi2sk: `${g.created_at}#${g.id}` }, ConditionExpression: 'attribute_not_exists(pk)' } },
        ],
      }),
    );
  } catch (err) {
    if (isConditionFailure(err) && cancelledIndexes(err).includes(0)) throw new ServerGroupQuotaExceeded(`Quota exceeded, too many server groups.`);
    throw err;
  }
}

/** Deletes a group (its members keep running, as in Nova) and gives back its quota. */
export async function deleteServerGroup(g: ServerGroup): Promise<boolean> {
  try {
    await dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: tableName(), Key: groupKey(g.id), ConditionExpression: 'attribute_exists(pk)' } },
          { Update: { TableName: tableName(), Key: keys.quotaUsage(g.project_id), UpdateExpression: 'ADD server_groups :minus', ExpressionAttributeValues: { ':minus': -1 } } },
        ],
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

/**
 * The items that make new instances members of a group, for the transaction that creates them:
 * the group must exist and stay within server_group_members.
 */
export function joinGroupItems(groupId: string, instances: Instance[], limit: number = QUOTA_DEFAULTS.server_group_members): TransactItem[] {
  return [
    {
      Update: {
        TableName: tableName(),
        Key: groupKey(groupId),
        UpdateExpression: 'ADD member_count :n',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(member_count) OR member_count <= :room)',
        ExpressionAttributeValues: { ':n': instances.length, ':room': limit - instances.length },
      },
    },
    ...instances.map((i): TransactItem => ({ Put: { TableName: tableName(), Item: { ...memberKey(groupId, i.id), type: 'server_group_member' } } })),
  ];
}

/** After an instance is gone: it leaves its group (if the group is still there). Idempotent. */
export async function leaveGroup(groupId: string, instanceId: string): Promise<void> {
  const removed = await dynamo().send(new DeleteCommand({ TableName: tableName(), Key: memberKey(groupId, instanceId), ReturnValues: 'ALL_OLD' }));
  if (!removed.Attributes) return;
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: groupKey(groupId),
        UpdateExpression: 'ADD member_count :minus',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':minus': -1 },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** Where the group's members hold claims, read consistently. */
export async function readPlacement(group: ServerGroup): Promise<GroupPlacement> {
  const items = await queryAll({ KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': groupPk(group.id) }, ConsistentRead: true });
  const hosts: Record<string, number> = {};
  let affinityHost: string | null = null;
  for (const item of items) {
    const sk = String(item.sk);
    if (sk.startsWith('HOST#') && Number(item.placed) > 0) hosts[sk.slice('HOST#'.length)] = Number(item.placed);
    if (sk === 'AFFINITY' && Number(item.placed) > 0) affinityHost = String(item.host);
  }
  return { group, hosts, affinityHost };
}

/**
 * The items a claim on `host` adds for a member of `group`: the host's count (for anti-affinity,
 * conditional on staying within max_server_per_host) and, for affinity, the shared host
 * (conditional on being this one, or on no member being placed).
 */
export function placementClaimItems(group: ServerGroup, host: string): TransactItem[] {
  const items: TransactItem[] = [];
  const hard = group.policy === 'anti-affinity';
  items.push({
    Update: {
      TableName: tableName(),
      Key: hostKey(group.id, host),
      UpdateExpression: 'ADD placed :one',
      ...(hard ? { ConditionExpression: 'attribute_not_exists(placed) OR placed < :max' } : {}),
      ExpressionAttributeValues: { ':one': 1, ...(hard ? { ':max': group.rules.max_server_per_host ?? 1 } : {}) },
    },
  });
  if (group.policy === 'affinity') {
    items.push({
      Update: {
        TableName: tableName(),
        Key: affinityKey(group.id),
        UpdateExpression: 'SET #host = :h ADD placed :one',
        ConditionExpression: 'attribute_not_exists(#host) OR #host = :h OR placed <= :zero',
        ExpressionAttributeNames: { '#host': 'host' },
        ExpressionAttributeValues: { ':h': host, ':one': 1, ':zero': 0 },
      },
    });
  }
  return items;
}

/** The release of a member's placement, in the transaction that releases its claim (unconditional: the group may be gone). */
export function placementReleaseItems(i: Instance): TransactItem[] {
  if (!i.server_group_id || !i.claimed_host) return [];
  const minus = { UpdateExpression: 'ADD placed :minus', ExpressionAttributeValues: { ':minus': -1 } };
  return [
    { Update: { TableName: tableName(), Key: hostKey(i.server_group_id, i.claimed_host), ...minus } },
    // Whatever the policy (a stray AFFINITY count below 1 means nothing).
    { Update: { TableName: tableName(), Key: affinityKey(i.server_group_id), ...minus } },
  ];
}
