import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../../aws.js';
import { NETWORK_QUOTA_DEFAULTS, type NetworkQuotaResource } from '../../domain/network/quota.js';
import { OverQuota } from '../../domain/network/errors.js';
import { tableName } from '../table.js';
import type { QuotaChange, Step } from './transaction.js';

const usageKey = (projectId: string) => ({ pk: `PROJECT#${projectId}`, sk: 'NETWORK_QUOTA_USAGE' });

/** Counts `n` more of a resource against the project's quota, in the transaction that creates them (refused past the limit). */
export const consumeQuota = (projectId: string, resource: NetworkQuotaResource, n = 1): Step => ({ quota: { projectId, counts: { [resource]: n }, enforce: true } });

/** Gives `n` of a resource back, in the transaction that removes them. */
export const releaseQuota = (projectId: string, resource: NetworkQuotaResource, n = 1): Step => ({ quota: { projectId, counts: { [resource]: -n }, enforce: false } });

/** Counts without refusing (what the cloud makes for a project on its own, such as its default security group). */
export const countQuota = (projectId: string, counts: QuotaChange['counts']): Step => ({ quota: { projectId, counts, enforce: false } });

/**
 * The one update of a project's usage item for all the quota changes of a transaction (DynamoDB
 * refuses two operations on one item in a transaction). When enforced, every resource that
 * grows must stay within its limit; a refusal names the resource that went over.
 */
export function quotaUpdateStep({ projectId, counts, enforce }: QuotaChange): Step {
  const entries = Object.entries(counts).filter(([, n]) => n !== 0) as [NetworkQuotaResource, number][];
  const names: Record<string, string> = {};
  const values: Record<string, number> = {};
  const conditions: string[] = [];
  entries.forEach(([resource, n], i) => {
    names[`#r${i}`] = resource;
    values[`:n${i}`] = n;
    if (enforce && n > 0) {
      values[`:max${i}`] = NETWORK_QUOTA_DEFAULTS[resource] - n;
      conditions.push(`(attribute_not_exists(#r${i}) OR #r${i} <= :max${i})`);
    }
  });
  return {
    item: {
      Update: {
        TableName: tableName(),
        Key: usageKey(projectId),
        UpdateExpression: `ADD ${entries.map((_, i) => `#r${i} :n${i}`).join(', ')}`,
        ...(conditions.length ? { ConditionExpression: conditions.join(' AND ') } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    },
    onConditionFailed: async () => {
      const used = await networkQuotaUsage(projectId);
      const over = entries.find(([r, n]) => n > 0 && used[r] + n > NETWORK_QUOTA_DEFAULTS[r]) ?? entries.find(([, n]) => n > 0);
      return new OverQuota(over?.[0] ?? 'port');
    },
  };
}

export async function networkQuotaUsage(projectId: string): Promise<Record<NetworkQuotaResource, number>> {
  const out = await dynamo().send(new GetCommand({ TableName: tableName(), Key: usageKey(projectId), ConsistentRead: true }));
  const item = out.Item ?? {};
  return Object.fromEntries(Object.keys(NETWORK_QUOTA_DEFAULTS).map((r) => [r, Number(item[r] ?? 0)])) as Record<NetworkQuotaResource, number>;
}
