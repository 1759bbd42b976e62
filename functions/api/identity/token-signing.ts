import { createHmac, timingSafeEqual } from 'node:crypto';
import { Unauthorized } from '../../../shared/errors.js';
import { TokenContextSchema, type TokenContext } from './token-context.js';

/**
 * Token format: `<payload>.<signature>`, both base64url; the payload is the TokenContext as JSON,
 * the signature its HMAC-SHA256 under the cloud's token key. Anyone holding a token can read
 * its payload (ids, names, roles: nothing secret); only the key holder can make one.
 */
export function signToken(context: TokenContext, key: Buffer): string {
  const payload = Buffer.from(JSON.stringify(context), 'utf8').toString('base64url');
  return `${payload}.${mac(payload, key).toString('base64url')}`;
}

/** Checks the signature, the payload's shape and the expiry; any failure is Unauthorized. */
export function openToken(token: string, key: Buffer, now = Date.now()): TokenContext {
  const parts = token.split('.');
  if (parts.length !== 2) throw new Unauthorized('The token is malformed.');
  const [payload, signature] = parts;
  const expected = mac(payload, key);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new Unauthorized('The token signature is invalid.');
  }
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new Unauthorized('The token is malformed.');
  }
  const parsed = TokenContextSchema.safeParse(data);
  if (!parsed.success) throw new Unauthorized('The token is malformed.');
  const expiresAt = Date.parse(parsed.data.expires_at);
  if (!(expiresAt > now)) throw new Unauthorized('The token has expired.');
  return parsed.data;
}

function mac(payload: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

/** Keystone's timestamp format: ISO 8601 with microseconds, `2015-11-06T15:32:17.893000Z`. */
export const keystoneTime = (date: Date) => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
