import '../support/cloud-env.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, issueToken } from '../support/cloud.js';

/**
 * Paths as clients really send them. Nova's routes (the `routes` library) match a collection with
 * or without one trailing slash, and a path with an empty segment matches nothing: 404, never
 * another resource read from the segments around it.
 */
let token: string;

beforeAll(async () => {
  token = await issueToken();
});

describe('a trailing slash', () => {
  it.each([
    ['/compute/v2.1/servers', 'servers'],
    ['/compute/v2.1/servers/detail', 'servers'],
    ['/compute/v2.1/flavors', 'flavors'],
    ['/compute/v2.1/flavors/detail', 'flavors'],
    ['/compute/v2.1/os-keypairs', 'keypairs'],
    ['/image/v2/images', 'images'],
  ])('%s/ is the collection, as %s without it', async (path, key) => {
    const [plain, slashed] = await Promise.all([api('GET', path, { token }), api('GET', `${path}/`, { token })]);
    expect(plain.status).toBe(200);
    expect(slashed.status).toBe(200);
    expect(slashed.body[key]).toEqual(plain.body[key]);
  });

  it('on a member (/flavors/1/) is that member', async () => {
    const res = await api('GET', '/compute/v2.1/flavors/1/', { token });
    expect(res.status).toBe(200);
    expect(res.body.flavor.id).toBe('1');
  });
});

describe('an empty id', () => {
  it.each([
    ['GET', '/compute/v2.1/servers//ips'],
    ['GET', '/compute/v2.1/servers//metadata'],
    ['GET', '/compute/v2.1/servers//os-interface'],
    ['POST', '/compute/v2.1/servers//action'],
    ['GET', '/compute/v2.1/flavors//os-extra_specs'],
    ['GET', '/compute/v2.1/os-quota-sets//defaults'],
    ['GET', '/compute/v2.1/servers//'],
  ])('%s %s names no resource: Nova’s 404', async (method, path) => {
    const res = await api(method, path, { token, ...(method === 'POST' ? { body: { reboot: { type: 'SOFT' } } } : {}) });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } });
  });

  it('in an image data path is a 404 in Glance’s shape', async () => {
    const res = await api('GET', '/image/v2/images//file', { token });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 404, title: 'Not Found' });
  });
});
