import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { getItem, isConditionFailure, nextNumber, tableName } from './table.js';

/**
 * When a control-plane function (the scheduler, the conductor) last finished a message: one of
 * the signals its service row's state comes from (functions/api/compute/control-services.ts).
 * Written at most every ACTIVITY_WRITE_INTERVAL_MS per process, so a busy function costs one
 * small write every few seconds, not one per message.
 */
const ACTIVITY_WRITE_INTERVAL_MS = 5_000;
const activityKey = (binary: string) => ({ pk: `SERVICEACTIVITY#${binary}`, sk: 'ACTIVITY' });
const lastWritten = new Map<string, number>();

export async function recordActivity(binary: string, now = Date.now()): Promise<void> {
  if (now - (lastWritten.get(binary) ?? 0) < ACTIVITY_WRITE_INTERVAL_MS) return;
  lastWritten.set(binary, now);
  await dynamo().send(
    new UpdateCommand({ TableName: tableName(), Key: activityKey(binary), UpdateExpression: 'SET last_finished_at = :t', ExpressionAttributeValues: { ':t': new Date(now).toISOString() } }),
  );
}

export interface ServiceActivity {
  /** The service's integer id, given the first time it is shown. */
  id: number;
  lastFinishedAt: string | null;
}

export async function getActivity(binary: string): Promise<ServiceActivity> {
  const item = await getItem(activityKey(binary), true);
  if (typeof item?.service_id === 'number') return { id: item.service_id, lastFinishedAt: (item.last_finished_at as string | undefined) ?? null };
  // First sight: give it an id from the services' sequence; of two racing readers one id wins.
  const id = await nextNumber('SERVICE');
  try {
    await dynamo().send(
      new UpdateCommand({ TableName: tableName(), Key: activityKey(binary), UpdateExpression: 'SET service_id = :id', ConditionExpression: 'attribute_not_exists(service_id)', ExpressionAttributeValues: { ':id': id } }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
  return getActivity(binary);
}
