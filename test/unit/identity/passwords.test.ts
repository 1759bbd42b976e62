import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../../functions/api/identity/passwords.js';

describe('password hashing', () => {
  it('verifies the right password only, with a fresh salt each time', async () => {
    const hash = await hashPassword('s3cret');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(hash).not.toContain('s3cret');
    expect(await verifyPassword('s3cret', hash)).toBe(true);
    expect(await verifyPassword('s3cret!', hash)).toBe(false);
    expect(await hashPassword('s3cret')).not.toBe(hash);
  });

  it('rejects a malformed stored hash', async () => {
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
  });
});
