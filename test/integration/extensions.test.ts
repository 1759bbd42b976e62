import { beforeAll, describe, expect, it } from 'vitest';
import { adminCredentials, api, issueToken } from '../support/cloud.js';

/** The v2.1 extension list: Nova's frozen list, shown as Nova shows it (extension-info samples). */
describe('GET /extensions', () => {
  let token: string;
  beforeAll(async () => {
    token = await issueToken(adminCredentials());
  });

  it('lists the extensions and shows one by its alias', async () => {
    const list = await api('GET', '/compute/v2.1/extensions', { token });
    expect(list.status).toBe(200);
    expect(list.body.extensions).toHaveLength(99);
    expect(list.body.extensions.map((e: { name: string }) => e.name)).toContain('Hosts');
    const one = await api('GET', '/compute/v2.1/extensions/os-consoles', { token });
    expect(one.status).toBe(200);
    expect(one.body.extension).toMatchObject({ alias: 'os-consoles', links: [], namespace: 'http://docs.openstack.org/compute/ext/fake_xml', updated: '2014-12-03T00:00:00Z' });
  });

  it('answers 404 for an unknown alias, and 401 without a token', async () => {
    const missing = await api('GET', '/compute/v2.1/extensions/os-no-such-thing', { token });
    expect(missing.status).toBe(404);
    expect(missing.body.itemNotFound.code).toBe(404);
    expect((await api('GET', '/compute/v2.1/extensions')).status).toBe(401);
  });
});
