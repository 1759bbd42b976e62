import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { HostSchema, type Host } from '../domain/host.js';
import { keys } from './keys.js';
import { getItem, isConditionFailure, listByType, tableName } from './table.js';

export async function listHosts(): Promise<Host[]> {
  const items = await listByType('HOST');
  return items.map((item) => HostSchema.parse(item));
}

export async function getHost(name: string): Promise<Host | undefined> {
  const item = await getItem(keys.host(name));
  return item ? HostSchema.parse(item) : undefined;
}

/** Enables or disables a compute service; returns the updated host, or undefined if there is no such host. */
export async function setHostStatus(name: string, status: Host['status'], reason: string | null): Promise<Host | undefined> {
  try {
    const out = await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.host(name),
        UpdateExpression: 'SET #status = :status, disabled_reason = :reason, updated_at = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':reason': reason, ':now': new Date().toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return HostSchema.parse(out.Attributes);
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}
