import { describe, expect, it } from 'vitest';
import { api, issueToken } from '../support/cloud.js';

describe('the shared local cloud', () => {
  it('answers the compute versions document and issues tokens', async () => {
    const versions = await api('GET', '/compute/');
    expect(versions.status).toBe(200);
    const token = await issueToken();
    const flavors = await api('GET', '/compute/v2.1/flavors', { token });
    expect(flavors.body.flavors.map((f: { name: string }) => f.name)).toContain('m1.tiny');
  });
});
