import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
export function setHostStatus(name: string, status: Host['status'], reason: string | null): Promise<Host | undefined> {
  return updateService(name, { status, disabled_reason: reason });
}

/**
 * Sets or clears Nova's forced_down: a forced-down host counts as down everywhere (isHostUp),
 * whatever its heartbeats say. Returns the updated host, or undefined if there is no such host.
 */
export function setHostForcedDown(name: string, forcedDown: boolean): Promise<Host | undefined> {
  return updateService(name, { forced_down: forcedDown });
}

/** An operator's change to a host's service fields, on a host that exists. */
async function updateService(name: string, changes: Partial<Pick<Host, 'status' | 'disabled_reason' | 'forced_down'>>): Promise<Host | undefined> {
  const fields = Object.entries({ ...changes, updated_at: new Date().toISOString() });
  try {
    const out = await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.host(name),
        UpdateExpression: `SET ${fields.map(([k]) => `#${k} = :${k}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: Object.fromEntries(fields.map(([k]) => [`#${k}`, k])),
        ExpressionAttributeValues: Object.fromEntries(fields.map(([k, v]) => [`:${k}`, v])),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return HostSchema.parse(out.Attributes);
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

/**
 * Deletes a host's record (Nova's service delete). Refused while it holds claims (a boot may have
 * claimed it since the caller looked): 'in-use'; 'gone' if there is no such host.
 */
export async function deleteHost(name: string): Promise<'deleted' | 'in-use' | 'gone'> {
  try {
    await dynamo().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: keys.host(name),
        ConditionExpression: 'attribute_exists(pk) AND used_vcpus = :zero AND used_memory_mb = :zero AND used_disk_gb = :zero',
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
    return 'deleted';
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return (await getHost(name)) ? 'in-use' : 'gone';
  }
}
