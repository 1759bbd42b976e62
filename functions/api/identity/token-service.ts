import { Unauthorized } from '../../../shared/errors.js';
import { newId } from './ids.js';
import { isRevoked } from './revocations.js';
import type { TokenContext } from './token-context.js';
import { tokenKey } from './token-key.js';
import { keystoneTime, openToken, signToken } from './token-signing.js';
import { tokenTtlSeconds } from './token-ttl.js';

/** The caller a token names, once its signature, expiry and revocation are checked. No table read but the revocation cache's. */
export async function verifyToken(token: string): Promise<TokenContext> {
  const context = openToken(token, await tokenKey());
  if (await isRevoked(context)) throw new Unauthorized('The token has been revoked.');
  return context;
}

export type TokenClaims = Omit<TokenContext, 'id' | 'issued_at' | 'expires_at'>;

/** Signs a new token; `expiresAt` is kept when rescoping, so a token chain never outlives its first token. */
export async function issueToken(claims: TokenClaims, expiresAt?: string): Promise<{ token: string; context: TokenContext }> {
  const now = new Date();
  const context: TokenContext = {
    ...claims,
    id: Buffer.from(newId(), 'hex').toString('base64url'),
    issued_at: keystoneTime(now),
    expires_at: expiresAt ?? keystoneTime(new Date(now.getTime() + tokenTtlSeconds() * 1000)),
  };
  return { token: signToken(context, await tokenKey()), context };
}
