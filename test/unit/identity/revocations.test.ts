import { describe, expect, it } from 'vitest';
import { revokes, type Revocation } from '../../../functions/api/identity/revocations.js';
import type { TokenContext } from '../../../functions/api/identity/token-context.js';

const token: TokenContext = {
  id: 't1',
  user_id: 'u1',
  user_name: 'alice',
  domain_id: 'default',
  project_id: 'p1',
  project_name: 'demo',
  roles: [{ id: 'r1', name: 'member' }],
  methods: ['password'],
  issued_at: '2030-01-01T12:00:00.500000Z',
  expires_at: '2030-01-01T13:00:00.500000Z',
};
const expires = '2030-01-01T14:00:00.000Z';
const rule = (r: Omit<Revocation, 'expires'>): Revocation => ({ ...r, expires });

describe('revocation rules', () => {
  it('revoke one token by id', () => {
    expect(revokes(rule({ token_id: 't1' }), token)).toBe(true);
    expect(revokes(rule({ token_id: 't2' }), token)).toBe(false);
  });

  it('revoke tokens of a user, a project, or a user on a project issued up to the event', () => {
    const before = '2030-01-01T12:00:00.600Z';
    expect(revokes(rule({ user_id: 'u1', issued_before: before }), token)).toBe(true);
    expect(revokes(rule({ project_id: 'p1', issued_before: before }), token)).toBe(true);
    expect(revokes(rule({ user_id: 'u1', project_id: 'p1', issued_before: before }), token)).toBe(true);
    expect(revokes(rule({ user_id: 'u1', project_id: 'p2', issued_before: before }), token)).toBe(false);
    expect(revokes(rule({ user_id: 'u2', issued_before: before }), token)).toBe(false);
  });

  it('spare tokens issued after the event', () => {
    expect(revokes(rule({ user_id: 'u1', issued_before: '2030-01-01T12:00:00.400Z' }), token)).toBe(false);
  });

  it('never match everything', () => {
    expect(revokes(rule({ issued_before: '2031-01-01T00:00:00Z' }), token)).toBe(false);
  });
});
