import { z } from 'zod';
import { keys } from './keys.js';
import { getItem, putNew } from './table.js';

/**
 * The console tokens a host reported as used, so that os-console-auth-tokens answers 404 for
 * them as for expired ones. The host's own record (in its state dir) is what refuses a second
 * use; this one only informs the API, and leaves with the token's expiry (DynamoDB's TTL).
 */
export const UsedConsoleTokenSchema = z.object({
  jti: z.string(),
  instance_id: z.string(),
  host: z.string(),
  used_at: z.string(),
  /** The token's expiry, seconds since the epoch: the table's TTL attribute. */
  expires_at: z.number().int(),
});
export type UsedConsoleToken = z.infer<typeof UsedConsoleTokenSchema>;

/** Records a use; false when it was recorded already (a repeated report). */
export function recordUsedConsoleToken(u: UsedConsoleToken): Promise<boolean> {
  return putNew({ ...keys.usedConsoleToken(u.jti), type: 'used_console_token', ...UsedConsoleTokenSchema.parse(u) });
}

export async function consoleTokenUsed(jti: string): Promise<boolean> {
  return Boolean(await getItem(keys.usedConsoleToken(jti), true));
}
