import { createHmac, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { consolePrivateKey, consolePublicKey, createConsoleKeyFiles, generateConsoleKeyPair } from '../../../shared/console/console-keys.js';
import { ConsoleTokenRejected, mintConsoleToken, verifyConsoleToken, type ConsoleGrant } from '../../../shared/console/console-token.js';
import { consoleAccessUrl, consolePort } from '../../../shared/console/console-url.js';
import { UsedTokens } from '../../../host-agent/console/used-tokens.js';

const pair = generateConsoleKeyPair();
const privateKey = consolePrivateKey(pair.privatePem, 'test');
const publicKey = consolePublicKey(pair.publicPem, 'test');
const grant: ConsoleGrant = { host: 'host-1', instanceId: randomUUID(), protocol: 'vnc', projectId: 'p1', userId: 'u1', requestId: 'req-1' };
const now = Date.parse('2030-01-01T12:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'console-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const rejection = (promise: Promise<unknown>) => promise.then(() => 'accepted', (e: unknown) => (e instanceof ConsoleTokenRejected ? e.reason : `other: ${(e as Error).message}`));

describe('console tokens', () => {
  it('mints a compact EdDSA JWS whose claims name host, instance, protocol, a random jti and a 600 s expiry', async () => {
    const { token, claims } = await mintConsoleToken(privateKey, grant, undefined, now);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'EdDSA', typ: 'novaless-console+jwt' });
    expect(claims).toMatchObject({ aud: 'host-1', sub: grant.instanceId, proto: 'vnc', pid: 'p1', uid: 'u1', rid: 'req-1', iat: now / 1000, exp: now / 1000 + 600 });
    const other = await mintConsoleToken(privateKey, grant, undefined, now);
    expect(other.claims.jti).not.toBe(claims.jti);
    expect(await verifyConsoleToken(token, publicKey, { host: 'host-1', now })).toEqual(claims);
  });

  it('is refused after its TTL (and within it accepted), with the TTL the control plane chose', async () => {
    const { token } = await mintConsoleToken(privateKey, grant, 2, now);
    expect(await rejection(verifyConsoleToken(token, publicKey, { host: 'host-1', now: now + 1000, clockToleranceSeconds: 0 }))).toBe('accepted');
    expect(await rejection(verifyConsoleToken(token, publicKey, { host: 'host-1', now: now + 3000, clockToleranceSeconds: 0 }))).toBe('ERR_JWT_EXPIRED');
  });

  it('is refused by another host, with another key, altered, or malformed', async () => {
    const { token } = await mintConsoleToken(privateKey, grant, undefined, now);
    expect(await rejection(verifyConsoleToken(token, publicKey, { host: 'host-2', now }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    const stranger = consolePublicKey(generateConsoleKeyPair().publicPem, 'other');
    expect(await rejection(verifyConsoleToken(token, stranger, { host: 'host-1', now }))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64({ ...JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()), sub: randomUUID() })}.${signature}`;
    expect(await rejection(verifyConsoleToken(forged, publicKey, { host: 'host-1', now }))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    for (const bad of ['', 'bad', 'a.b', 'a.b.c.d', `${token}!`, 'x'.repeat(5000)]) {
      expect(await rejection(verifyConsoleToken(bad, publicKey, { host: 'host-1', now }))).not.toBe('accepted');
    }
  });

  it('refuses alg none and an HMAC keyed with the public key', async () => {
    const claims = { iss: 'novaless', aud: 'host-1', sub: grant.instanceId, proto: 'vnc', jti: randomUUID(), iat: now / 1000, exp: now / 1000 + 600, pid: 'p', uid: 'u' };
    const none = `${b64({ alg: 'none', typ: 'novaless-console+jwt' })}.${b64(claims)}.`;
    expect(await rejection(verifyConsoleToken(none, publicKey, { host: 'host-1', now }))).not.toBe('accepted');
    const input = `${b64({ alg: 'HS256', typ: 'novaless-console+jwt' })}.${b64(claims)}`;
    const hmac = createHmac('sha256', pair.publicPem).update(input).digest('base64url');
    expect(await rejection(verifyConsoleToken(`${input}.${hmac}`, publicKey, { host: 'host-1', now }))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('keeps the private key private: a host refuses one as its verification key', () => {
    expect(() => consolePublicKey(pair.privatePem, 'host config')).toThrow(/private key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => consolePrivateKey(rsa, 'x')).toThrow(/must be Ed25519/);
  });

  it('makes the local key files once: the private one 0600, the public one its own half', async () => {
    const priv = join(dir, 'keys', 'console-signing.key');
    const pub = join(dir, 'keys', 'console-verify.pem');
    await createConsoleKeyFiles(priv, pub);
    const first = readFileSync(priv, 'utf8');
    await createConsoleKeyFiles(priv, pub);
    expect(readFileSync(priv, 'utf8')).toBe(first);
    expect(createPublicKey(first).export({ type: 'spki', format: 'pem' })).toBe(readFileSync(pub, 'utf8'));
  });

  it("builds Nova's URLs on the host's console address", () => {
    expect(consoleAccessUrl('https://127.0.0.1:6081', 'vnc', 'a.b.c')).toBe('https://127.0.0.1:6081/vnc_lite.html?path=%3Ftoken%3Da.b.c');
    expect(consoleAccessUrl('https://h1.console.example/', 'serial', 'a.b.c')).toBe('wss://h1.console.example/?token=a.b.c');
    expect(consolePort('https://127.0.0.1:6081')).toBe(6081);
    expect(consolePort('https://h1.console.example')).toBe(443);
  });
});

describe('used console tokens', () => {
  it('accepts a jti once, also after the list is opened again (an agent restart)', async () => {
    const file = join(dir, 'used-tokens.json');
    const used = await UsedTokens.open(file);
    const jti = randomUUID();
    const exp = Math.floor(Date.now() / 1000) + 600;
    const results = await Promise.all([used.consume(jti, exp), used.consume(jti, exp), used.consume(jti, exp)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const reopened = await UsedTokens.open(file);
    expect(reopened.has(jti)).toBe(true);
    expect(await reopened.consume(jti, exp)).toBe(false);
    expect(await reopened.consume(randomUUID(), exp)).toBe(true);
  });

  it('forgets tokens once they have expired', async () => {
    const file = join(dir, 'used-prune.json');
    const used = await UsedTokens.open(file, 60);
    const nowSeconds = Math.floor(Date.now() / 1000);
    const old = randomUUID();
    await used.consume(old, nowSeconds - 120);
    await used.consume(randomUUID(), nowSeconds + 600);
    expect(used.has(old)).toBe(false);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')))).toHaveLength(1);
  });
});
