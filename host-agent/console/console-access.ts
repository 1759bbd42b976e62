import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ConsoleTokenRejected, verifyConsoleToken, type ConsoleTokenClaims } from '../../shared/console/console-token.js';
import type { UsedTokens } from './used-tokens.js';

export interface AccessOptions {
  host: string;
  publicKey: KeyObject;
  used: UsedTokens;
  /** The proxy's own origin (scheme, host, port of its public address): the only Origin a browser may send. */
  ownOrigin: string;
  /** Whether this host runs the instance now (a token for a guest elsewhere, or gone, is refused). */
  hasInstance: (instanceId: string) => boolean;
  /** Whether the instance's console of this protocol is free (a serial port takes one client). */
  isFree: (claims: ConsoleTokenClaims) => boolean;
  clockToleranceSeconds?: number;
}

/** A refused websocket: the status to answer and, for the log only, why. */
export class AccessRefused extends Error {
  constructor(
    readonly status: 403 | 409,
    readonly reason: string,
    readonly claims?: ConsoleTokenClaims,
  ) {
    super(reason);
    this.name = 'AccessRefused';
  }
}

/**
 * Decides a websocket upgrade. The Origin, when a browser sends one, must be the proxy's own
 * (CVE-2015-0259: another site's page opening a console); tools such as tempest send none. The
 * token comes only from the query (never a cookie), must verify with the control plane's public
 * key for this host, name a guest this host runs, and not have been used: it is marked used
 * here, last, so a refusal for another reason leaves it usable.
 */
export async function authorizeUpgrade(req: IncomingMessage, o: AccessOptions): Promise<ConsoleTokenClaims> {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== o.ownOrigin) throw new AccessRefused(403, `Origin ${origin} is not this console's ${o.ownOrigin}`);
  const token = new URL(req.url ?? '/', 'https://console.invalid').searchParams.get('token');
  if (!token) throw new AccessRefused(403, 'no token');
  let claims: ConsoleTokenClaims;
  try {
    claims = await verifyConsoleToken(token, o.publicKey, { host: o.host, clockToleranceSeconds: o.clockToleranceSeconds });
  } catch (error) {
    if (error instanceof ConsoleTokenRejected) throw new AccessRefused(403, error.reason);
    throw error;
  }
  if (!o.hasInstance(claims.sub)) throw new AccessRefused(403, 'the token names a guest this host does not run', claims);
  if (o.used.has(claims.jti)) throw new AccessRefused(403, 'the token was used already', claims);
  if (!o.isFree(claims)) throw new AccessRefused(409, `the ${claims.proto} console of this guest is open in another session`, claims);
  if (!(await o.used.consume(claims.jti, claims.exp))) throw new AccessRefused(403, 'the token was used already', claims);
  return claims;
}
