import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cloud } from './cloud.js';

/**
 * Re-signs a real token's payload with changes, in the format of
 * functions/api/identity/token-signing.ts (`<base64url JSON>.<base64url HMAC-SHA256>`), written
 * out here rather than imported so a change of format shows up as a failing test.
 */
export function resignToken(token: string, changes: Record<string, unknown>, key: Buffer = cloudTokenKey()): string {
  const claims = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as Record<string, unknown>;
  const payload = Buffer.from(JSON.stringify({ ...claims, ...changes }), 'utf8').toString('base64url');
  return `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

/** The shared cloud's real token signing key. */
export const cloudTokenKey = () => Buffer.from(readFileSync(cloud().tokenKeyFile, 'utf8').trim(), 'base64');

/** A key that is not the cloud's: tokens signed with it are forgeries. */
export const someOtherKey = () => randomBytes(32);
