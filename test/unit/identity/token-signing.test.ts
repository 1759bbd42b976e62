import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Unauthorized } from '../../../shared/errors.js';
import type { TokenContext } from '../../../functions/api/identity/token-context.js';
import { keystoneTime, openToken, signToken } from '../../../functions/api/identity/token-signing.js';

const key = randomBytes(32);
const now = Date.parse('2030-01-01T12:00:00Z');

const context = (expiresAt = '2030-01-01T13:00:00.000000Z'): TokenContext => ({
  id: 'c2lnbmVkLXRva2VuLWlk',
  user_id: 'u1',
  user_name: 'alice',
  domain_id: 'default',
  project_id: 'p1',
  project_name: 'demo',
  roles: [{ id: 'r1', name: 'member' }],
  methods: ['password'],
  issued_at: '2030-01-01T12:00:00.000000Z',
  expires_at: expiresAt,
});

describe('token signing', () => {
  it('round-trips the token context', () => {
    const token = signToken(context(), key);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(openToken(token, key, now)).toEqual(context());
  });

  it('rejects a token signed with another key', () => {
    const forged = signToken(context(), randomBytes(32));
    expect(() => openToken(forged, key, now)).toThrow(Unauthorized);
  });

  it('rejects a forged signature on a genuine payload', () => {
    const [payload] = signToken(context(), key).split('.');
    expect(() => openToken(`${payload}.${randomBytes(32).toString('base64url')}`, key, now)).toThrow(Unauthorized);
    expect(() => openToken(`${payload}.`, key, now)).toThrow(Unauthorized);
  });

  it('rejects an expired token', () => {
    const token = signToken(context('2030-01-01T11:59:59.000000Z'), key);
    expect(() => openToken(token, key, now)).toThrow(/expired/);
  });

  it('rejects a tampered payload that keeps the original signature', () => {
    const [, signature] = signToken(context(), key).split('.');
    const escalated = { ...context(), roles: [{ id: 'r0', name: 'admin' }] };
    const payload = Buffer.from(JSON.stringify(escalated)).toString('base64url');
    expect(() => openToken(`${payload}.${signature}`, key, now)).toThrow(Unauthorized);
  });

  it('rejects garbage', () => {
    for (const garbage of ['', 'abc', 'a.b.c', '....', 'gAAAAABfernet-looking-token']) {
      expect(() => openToken(garbage, key, now)).toThrow(Unauthorized);
    }
  });

  it('rejects a correctly signed payload that is not a token context', () => {
    const payload = Buffer.from(JSON.stringify({ user_id: 'u1' })).toString('base64url');
    const signature = createHmac('sha256', key).update(payload).digest('base64url');
    expect(() => openToken(`${payload}.${signature}`, key, now)).toThrow(/malformed/);
  });

  it('formats times as keystone does', () => {
    expect(keystoneTime(new Date('2015-11-06T15:32:17.893Z'))).toBe('2015-11-06T15:32:17.893000Z');
  });
});
