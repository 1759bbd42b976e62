import { randomUUID, type KeyObject } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';

/** What a console token opens: the guest's VNC screen or its serial port. */
export const ConsoleProtocolSchema = z.enum(['vnc', 'serial']);
export type ConsoleProtocol = z.infer<typeof ConsoleProtocolSchema>;

export const CONSOLE_TOKEN_ISSUER = 'novaless';
/** The JWS `typ`: a token of another kind signed with the same key is never taken for a console token. */
export const CONSOLE_TOKEN_TYPE = 'novaless-console+jwt';
/** Nova's [consoleauth] token_ttl default. */
export const DEFAULT_CONSOLE_TOKEN_TTL_SECONDS = 600;

/**
 * The claims of a console token: one instance (`sub`) on one host (`aud`), one protocol, a
 * random id (`jti`) the host remembers once used, and who asked (project, user, request).
 */
export const ConsoleTokenClaimsSchema = z.object({
  iss: z.literal(CONSOLE_TOKEN_ISSUER),
  aud: z.string().min(1),
  sub: z.uuid(),
  proto: ConsoleProtocolSchema,
  jti: z.uuid(),
  iat: z.number().int(),
  exp: z.number().int(),
  pid: z.string(),
  uid: z.string(),
  rid: z.string().optional(),
});
export type ConsoleTokenClaims = z.infer<typeof ConsoleTokenClaimsSchema>;

export interface ConsoleGrant {
  host: string;
  instanceId: string;
  protocol: ConsoleProtocol;
  projectId: string;
  userId: string;
  requestId?: string;
}

/** A compact JWS (EdDSA over Ed25519), about 400 characters of [A-Za-z0-9_.-]. */
export async function mintConsoleToken(
  privateKey: KeyObject,
  grant: ConsoleGrant,
  ttlSeconds = DEFAULT_CONSOLE_TOKEN_TTL_SECONDS,
  now = Date.now(),
): Promise<{ token: string; claims: ConsoleTokenClaims }> {
  const iat = Math.floor(now / 1000);
  const claims: ConsoleTokenClaims = {
    iss: CONSOLE_TOKEN_ISSUER,
    aud: grant.host,
    sub: grant.instanceId,
    proto: grant.protocol,
    jti: randomUUID(),
    iat,
    exp: iat + ttlSeconds,
    pid: grant.projectId,
    uid: grant.userId,
    ...(grant.requestId ? { rid: grant.requestId } : {}),
  };
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: CONSOLE_TOKEN_TYPE }).sign(privateKey);
  return { token, claims };
}

/** Why a token was refused, for the log (the client only ever sees a bare 403 or 404). */
export class ConsoleTokenRejected extends Error {
  constructor(readonly reason: string) {
    super(`console token rejected: ${reason}`);
    this.name = 'ConsoleTokenRejected';
  }
}

export interface VerifyOptions {
  /** The host that must be the token's audience; any host when undefined (the API's os-console-auth-tokens). */
  host?: string;
  /** Seconds of clock difference between the control plane and the host that are forgiven. */
  clockToleranceSeconds?: number;
  now?: number;
}

/**
 * Checks signature, algorithm (EdDSA only: no `none`, no HMAC keyed with the public key), type,
 * issuer, audience and expiry, then the claims' shape. Throws ConsoleTokenRejected.
 */
export async function verifyConsoleToken(token: string, publicKey: KeyObject, options: VerifyOptions = {}): Promise<ConsoleTokenClaims> {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token) || token.length > 4096) throw new ConsoleTokenRejected('malformed');
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, publicKey, {
      algorithms: ['EdDSA'],
      typ: CONSOLE_TOKEN_TYPE,
      issuer: CONSOLE_TOKEN_ISSUER,
      ...(options.host ? { audience: options.host } : {}),
      clockTolerance: options.clockToleranceSeconds ?? 5,
      requiredClaims: ['exp', 'iat', 'jti', 'sub', 'aud'],
      ...(options.now !== undefined ? { currentDate: new Date(options.now) } : {}),
    }));
  } catch (error) {
    throw new ConsoleTokenRejected((error as { code?: string }).code ?? (error as Error).message);
  }
  const claims = ConsoleTokenClaimsSchema.safeParse(payload);
  if (!claims.success) throw new ConsoleTokenRejected('claims of the wrong shape');
  return claims.data;
}
