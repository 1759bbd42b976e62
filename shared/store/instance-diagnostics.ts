import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { GuestDiagnosticsSchema, type GuestDiagnostics } from '../domain/guest-diagnostics.js';
import { conditionalWrite, getItem, tableName } from './table.js';

/**
 * The latest diagnostics sample of each running guest, as its host's heartbeat brought it: one
 * item beside the instance (`INSTANCE#<id>` / `DIAGNOSTICS#<host>`), never the instance record
 * itself, so a sample every heartbeat does not race the versioned writes of actions. Keyed by
 * the host that sent it: a host writes only its own samples, and the API reads the one of the
 * instance's host. It leaves by TTL once samples stop coming (the guest stopped, or is gone).
 */
const diagnosticsKey = (instanceId: string, host: string) => ({ pk: `INSTANCE#${instanceId}`, sk: `DIAGNOSTICS#${host}` });

/** How long a sample is kept after it was taken, for the table's TTL. */
const KEEP_SECONDS = 3600;

export type StoredDiagnostics = GuestDiagnostics & { host: string };

/** Stores a sample unless a newer one of the guest is there already (heartbeats arrive out of order); false then. */
export function saveDiagnostics(host: string, sample: GuestDiagnostics): Promise<boolean> {
  const item = {
    ...diagnosticsKey(sample.instance_id, host),
    type: 'instance_diagnostics',
    host,
    ...sample,
    expires_at: Math.floor(Date.parse(sample.sampled_at) / 1000) + KEEP_SECONDS,
  };
  return conditionalWrite(
    dynamo().send(
      new PutCommand({
        TableName: tableName(),
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk) OR sampled_at < :at',
        ExpressionAttributeValues: { ':at': sample.sampled_at },
      }),
    ),
  );
}

/** The latest sample of the instance's guest that its host sent, if one was stored (and has not expired). */
export async function getDiagnostics(instanceId: string, host: string): Promise<StoredDiagnostics | undefined> {
  const item = await getItem(diagnosticsKey(instanceId, host));
  if (!item || (typeof item.expires_at === 'number' && item.expires_at * 1000 < Date.now())) return undefined;
  const parsed = GuestDiagnosticsSchema.safeParse(item);
  return parsed.success && typeof item.host === 'string' ? { ...parsed.data, host: item.host } : undefined;
}
