import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeQcow2 } from '../support/cli-artifacts.js';
import { api, createProjectUser, issueToken, waitFor, type Credentials } from '../support/cloud.js';
import { resignToken, someOtherKey } from '../support/forged-token.js';

/**
 * Bad input over raw HTTP: each case gets the status and error body Nova (or Keystone) gives,
 * never a 500, and a refused create leaves no instance and no quota usage behind.
 */

const suffix = Date.now().toString(36);
const SERVERS = '/compute/v2.1/servers';

type Response = Awaited<ReturnType<typeof api>>;

/** Nova's fault body: `{"<fault>": {"code": <status>, "message": "..."}}` and nothing else. */
function expectNovaFault(res: Response, status: number, fault: string, message?: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(Object.keys(res.body ?? {})).toEqual([fault]);
  expect(res.body[fault].code).toBe(status);
  expect(typeof res.body[fault].message).toBe('string');
  if (message) expect(res.body[fault].message).toMatch(message);
}

/** Keystone's (and keystonemiddleware's) error body: `{"error": {"code", "message", "title"}}`. */
function expectKeystoneError(res: Response, status: number, title: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toEqual({ error: { code: status, title, message: expect.any(String) } });
}

describe('bad input', () => {
  let dir: string;
  let admin: string;
  let member: Credentials;
  let memberToken: string;
  let imageId: string;
  let tinyFlavorId: string;
  let xlargeFlavorId: string;
  let instancesUsedAtStart: number;
  let projectId: string;

  const instancesUsed = async () => {
    const res = await api('GET', '/compute/v2.1/limits', { token: memberToken });
    expect(res.status).toBe(200);
    return res.body.limits.absolute.totalInstancesUsed as number;
  };

  /** Nothing of a refused create remains: no server by that name in the project, for its user or for the admin, and no quota used. */
  async function expectNothingLeftBehind(name: string): Promise<void> {
    const exact = encodeURIComponent(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
    const own = await api('GET', `${SERVERS}?name=${exact}`, { token: memberToken });
    expect(own.status).toBe(200);
    expect(own.body.servers).toEqual([]);
    const all = await api('GET', `${SERVERS}?all_tenants=1&project_id=${projectId}&name=${exact}`, { token: admin });
    expect(all.body.servers).toEqual([]);
    expect(await instancesUsed()).toBe(instancesUsedAtStart);
  }

  /** A create request that is valid except for what `change` does to it. */
  const serverBody = (name: string, change: (server: Record<string, unknown>) => void = () => {}) => {
    const server: Record<string, unknown> = { name, imageRef: imageId, flavorRef: tinyFlavorId };
    change(server);
    return { server };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'novaless-bad-input-'));
    admin = await issueToken();
    member = await createProjectUser(`bad-input-${suffix}`);
    memberToken = await issueToken(member);
    projectId = JSON.parse(Buffer.from(memberToken.split('.')[0], 'base64url').toString('utf8')).project_id;

    const flavors = (await api('GET', '/compute/v2.1/flavors', { token: memberToken })).body.flavors as { id: string; name: string }[];
    tinyFlavorId = flavors.find((f) => f.name === 'm1.tiny')!.id;
    xlargeFlavorId = flavors.find((f) => f.name === 'm1.xlarge')!.id;

    // The member's own image, so every create below is valid but for the field under test.
    const qcow2 = await makeQcow2(dir);
    const created = await api('POST', '/image/v2/images', {
      token: memberToken,
      body: { name: `bad-input-image-${suffix}`, disk_format: 'qcow2', container_format: 'bare' },
    });
    expect(created.status).toBe(201);
    imageId = created.body.id;
    const upload = await api('PUT', `/image/v2/images/${imageId}/file`, {
      token: memberToken,
      rawBody: readFileSync(qcow2.path),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(upload.status).toBe(204);
    instancesUsedAtStart = await instancesUsed();
    expect(instancesUsedAtStart).toBe(0);
  });

  afterAll(async () => {
    if (imageId) await api('DELETE', `/image/v2/images/${imageId}`, { token: memberToken });
    rmSync(dir, { recursive: true, force: true });
  });

  describe('POST /servers', () => {
    const cases: { what: string; name: string; body?: (name: string) => unknown; raw?: string; status?: number; fault?: string; message?: RegExp }[] = [
      { what: 'malformed JSON', name: `bi-malformed-${suffix}`, raw: '{"server": {"name": "bi-malformed", ' },
      { what: 'a body that is not an object', name: `bi-array-${suffix}`, raw: '[1, 2, 3]' },
      { what: 'no server key', name: `bi-nokey-${suffix}`, body: (name) => ({ name }) },
      { what: 'name: 123', name: `bi-numname-${suffix}`, body: (name) => serverBody(name, (s) => (s.name = 123)) },
      { what: 'flavorRef: {}', name: `bi-flavorobj-${suffix}`, body: (name) => serverBody(name, (s) => (s.flavorRef = {})) },
      { what: 'min_count: "x"', name: `bi-mincount-${suffix}`, body: (name) => serverBody(name, (s) => (s.min_count = 'x')) },
      { what: 'min_count: 0', name: `bi-mincount0-${suffix}`, body: (name) => serverBody(name, (s) => (s.min_count = 0)) },
      { what: 'metadata: []', name: `bi-meta-${suffix}`, body: (name) => serverBody(name, (s) => (s.metadata = [])) },
      { what: 'an unknown flavor', name: `bi-flavor-${suffix}`, body: (name) => serverBody(name, (s) => (s.flavorRef = 'no-such-flavor')), message: /Flavor no-such-flavor could not be found/ },
      {
        what: 'an unknown image',
        name: `bi-image-${suffix}`,
        body: (name) => serverBody(name, (s) => (s.imageRef = '00000000-0000-4000-8000-000000000000')),
        message: /Image 00000000-0000-4000-8000-000000000000 could not be found/,
      },
      { what: 'an image ref that is not a uuid', name: `bi-imageuuid-${suffix}`, body: (name) => serverBody(name, (s) => (s.imageRef = 'not-a-uuid')) },
      { what: 'an unknown key_name', name: `bi-key-${suffix}`, body: (name) => serverBody(name, (s) => (s.key_name = `no-such-key-${suffix}`)), message: /Invalid key_name provided/ },
      { what: 'a 256-character name', name: 'x'.repeat(256), body: (name) => serverBody(name) },
      { what: 'an empty name', name: '', body: (name) => serverBody(name) },
      { what: 'a name with leading whitespace', name: ` bi-space-${suffix}`, body: (name) => serverBody(name) },
      { what: 'min_count > max_count', name: `bi-minmax-${suffix}`, body: (name) => serverBody(name, (s) => Object.assign(s, { min_count: 3, max_count: 2 })) },
      { what: 'an unknown field in server', name: `bi-extra-${suffix}`, body: (name) => serverBody(name, (s) => (s.no_such_field = true)) },
      { what: 'an unknown top-level field', name: `bi-extratop-${suffix}`, body: (name) => ({ ...serverBody(name), no_such_field: true }) },
      { what: 'an unknown network', name: `bi-net-${suffix}`, body: (name) => serverBody(name, (s) => (s.networks = [{ uuid: '00000000-0000-4000-8000-000000000000' }])) },
      { what: 'an unknown availability zone', name: `bi-az-${suffix}`, body: (name) => serverBody(name, (s) => (s.availability_zone = 'no-such-zone')) },
      {
        what: 'a JSON body sent as text/plain',
        name: `bi-ctype-${suffix}`,
        raw: JSON.stringify({ server: { name: `bi-ctype-${suffix}` } }),
        status: 415,
        fault: 'badMediaType',
      },
    ];

    for (const c of cases) {
      it(`refuses ${c.what} and leaves nothing behind`, async () => {
        const headers = c.status === 415 ? { 'Content-Type': 'text/plain' } : undefined;
        const res = c.raw !== undefined ? await api('POST', SERVERS, { token: memberToken, rawBody: c.raw, headers }) : await api('POST', SERVERS, { token: memberToken, body: c.body!(c.name) });
        expectNovaFault(res, c.status ?? 400, c.fault ?? 'badRequest', c.message);
        if (c.name.trim()) await expectNothingLeftBehind(c.name.trim());
        else expect(await instancesUsed()).toBe(instancesUsedAtStart);
      });
    }

    it('refuses more instances than the quota allows (403 "Quota exceeded") and writes none', async () => {
      const name = `bi-quota-${suffix}`;
      const res = await api('POST', SERVERS, { token: memberToken, body: serverBody(name, (s) => Object.assign(s, { min_count: 11, max_count: 11 })) });
      expectNovaFault(res, 403, 'forbidden', /Quota exceeded for instances/);
      await expectNothingLeftBehind(name);

      // As Nova: below min_count the request fails whole (max_count beyond the quota alone would create what fits).
      const overMin = await api('POST', SERVERS, { token: memberToken, body: serverBody(name, (s) => Object.assign(s, { min_count: 11, max_count: 12 })) });
      expect(overMin.status).toBe(403);
      expect(overMin.body.forbidden.message).toMatch(/Quota exceeded/);
      await expectNothingLeftBehind(name);

      const cores = await api('POST', SERVERS, {
        token: memberToken,
        body: serverBody(name, (s) => Object.assign(s, { flavorRef: xlargeFlavorId, min_count: 3, max_count: 3 })),
      });
      expectNovaFault(cores, 403, 'forbidden', /Quota exceeded for cores/);
      await expectNothingLeftBehind(name);
    });

    it('accepts the same request when nothing is wrong with it (the control), and counts it', async () => {
      const name = `bi-valid-${suffix}`;
      const res = await api('POST', SERVERS, { token: memberToken, body: serverBody(name) });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const id = res.body.server.id as string;
      try {
        expect(await instancesUsed()).toBe(instancesUsedAtStart + 1);
        await waitFor('the control server to settle', async () => {
          const shown = await api('GET', `${SERVERS}/${id}`, { token: memberToken });
          return ['ACTIVE', 'ERROR'].includes(shown.body.server.status) ? shown : undefined;
        });
      } finally {
        expect((await api('DELETE', `${SERVERS}/${id}`, { token: memberToken })).status).toBe(204);
        await waitFor('the control server to be gone', async () => (await api('GET', `${SERVERS}/${id}`, { token: memberToken })).status === 404);
      }
      expect(await instancesUsed()).toBe(instancesUsedAtStart);
    });
  });

  describe('microversions', () => {
    it('answers 406 to a compute version above the maximum', async () => {
      const res = await api('GET', '/compute/v2.1/flavors', { token: memberToken, headers: { 'OpenStack-API-Version': 'compute 9.99' } });
      // Nova has no fault name for 406: its Fault class falls back to computeFault.
      expectNovaFault(res, 406, 'computeFault', /Version 9.99 is not supported by the API/);
    });

    it('answers 406 to a legacy X-OpenStack-Nova-API-Version below the minimum', async () => {
      const res = await api('GET', '/compute/v2.1/flavors', { token: memberToken, headers: { 'X-OpenStack-Nova-API-Version': '2.0' } });
      expectNovaFault(res, 406, 'computeFault', /Version 2.0 is not supported by the API/);
    });

    it('answers 400 to a version that is not a version', async () => {
      const res = await api('GET', '/compute/v2.1/flavors', { token: memberToken, headers: { 'OpenStack-API-Version': 'compute two' } });
      expectNovaFault(res, 400, 'badRequest');
    });

    it('accepts "latest", echoes the version it used and says the answer varies by it', async () => {
      const res = await api('GET', '/compute/v2.1/flavors', { token: memberToken, headers: { 'OpenStack-API-Version': 'compute latest' } });
      expect(res.status).toBe(200);
      const versions = await api('GET', '/compute/', {});
      const max = versions.body.versions.find((v: { id: string }) => v.id === 'v2.1').version as string;
      expect(res.headers.get('openstack-api-version')).toBe(`compute ${max}`);
      expect(res.headers.get('x-openstack-nova-api-version')).toBe(max);
      expect(res.headers.get('vary')).toMatch(/OpenStack-API-Version/);
      expect(res.headers.get('vary')).toMatch(/X-OpenStack-Nova-API-Version/);
    });

    it('carries the version headers on errors too, as Nova faults do', async () => {
      const res = await api('GET', `/compute/v2.1/servers/${randomUUID()}`, { token: memberToken, headers: { 'OpenStack-API-Version': 'compute latest' } });
      expectNovaFault(res, 404, 'itemNotFound');
      expect(res.headers.get('openstack-api-version')).toMatch(/^compute 2\.\d+$/);
      expect(res.headers.get('vary')).toMatch(/OpenStack-API-Version/);
    });

    it('answers the minimum version when none is asked for', async () => {
      const res = await api('GET', '/compute/v2.1/flavors', { token: memberToken });
      expect(res.headers.get('openstack-api-version')).toBe('compute 2.1');
    });
  });

  describe('paths', () => {
    it('answers 404 to a malformed percent escape, and decodes a good one exactly once', async () => {
      expectNovaFault(await api('GET', '/compute/v2.1/servers/%E2%82', { token: memberToken }), 404, 'itemNotFound');
      expectNovaFault(await api('GET', '/compute/v2.1/os-keypairs/a%2525b', { token: memberToken }), 404, 'itemNotFound', /a%25b/);
    });
  });

  describe('tokens', () => {
    // keystonemiddleware refuses these before Nova sees the request, with Keystone's error body.
    it('refuses a request without a token', async () => {
      expectKeystoneError(await api('GET', SERVERS), 401, 'Unauthorized');
    });

    it('checks the token before the microversion, as keystonemiddleware runs first', async () => {
      const res = await api('GET', SERVERS, { headers: { 'OpenStack-API-Version': 'compute 9.99' } });
      expectKeystoneError(res, 401, 'Unauthorized');
    });

    it('refuses an expired token signed with the real key', async () => {
      const expired = resignToken(memberToken, { expires_at: new Date(Date.now() - 60_000).toISOString() });
      expectKeystoneError(await api('GET', SERVERS, { token: expired }), 401, 'Unauthorized');
    });

    it('refuses a token signed with another key', async () => {
      const forged = resignToken(memberToken, { roles: [{ id: 'x', name: 'admin' }] }, someOtherKey());
      expectKeystoneError(await api('GET', SERVERS, { token: forged }), 401, 'Unauthorized');
    });

    it('refuses a real token whose payload was changed (admin role added)', async () => {
      const [, signature] = memberToken.split('.');
      const tampered = `${resignToken(memberToken, { roles: [{ id: 'x', name: 'admin' }] }).split('.')[0]}.${signature}`;
      expectKeystoneError(await api('GET', '/compute/v2.1/os-services', { token: tampered }), 401, 'Unauthorized');
    });

    it('refuses tokens that are not tokens', async () => {
      for (const token of ['garbage', 'a.b.c', '.', `${'x'.repeat(5000)}.y`]) {
        expectKeystoneError(await api('GET', SERVERS, { token }), 401, 'Unauthorized');
      }
    });

    it('refuses a wrong password with Keystone\'s 401 body', async () => {
      const res = await api('POST', '/identity/v3/auth/tokens', {
        body: {
          auth: {
            identity: { methods: ['password'], password: { user: { name: member.username, domain: { id: 'default' }, password: 'wrong' } } },
            scope: { project: { name: member.project, domain: { id: 'default' } } },
          },
        },
      });
      expectKeystoneError(res, 401, 'Unauthorized');
      expect(res.headers.get('x-subject-token')).toBeNull();
    });

    it('refuses a domain- or system-scoped token with 401, as Keystone does a user without a role there (Horizon then scopes to a project)', async () => {
      const password = { user: { name: member.username, domain: { id: 'default' }, password: member.password } };
      for (const scope of [{ domain: { id: 'default' } }, { system: { all: true } }]) {
        const res = await api('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password }, scope } } });
        expectKeystoneError(res, 401, 'Unauthorized');
      }
    });

    it('refuses an unknown user with the same 401 as a wrong password', async () => {
      const res = await api('POST', '/identity/v3/auth/tokens', {
        body: { auth: { identity: { methods: ['password'], password: { user: { name: `nobody-${suffix}`, domain: { id: 'default' }, password: 'x' } } } } },
      });
      expectKeystoneError(res, 401, 'Unauthorized');
    });

    it('refuses a malformed auth request with Keystone\'s 400 body', async () => {
      expectKeystoneError(await api('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: 'password' } } }), 400, 'Bad Request');
      expectKeystoneError(await api('POST', '/identity/v3/auth/tokens', { rawBody: '{"auth": ' }), 400, 'Bad Request');
    });
  });

  describe('policy: a member calling admin APIs', () => {
    const adminOnly: [string, string, unknown?][] = [
      ['POST', '/compute/v2.1/flavors', { flavor: { name: `bi-flavor-${suffix}`, ram: 64, vcpus: 1, disk: 1 } }],
      ['GET', '/compute/v2.1/os-services'],
      ['GET', '/compute/v2.1/os-hypervisors'],
      ['GET', '/compute/v2.1/os-hypervisors/detail'],
      ['GET', `${SERVERS}?all_tenants=1`],
      ['GET', `${SERVERS}/detail?all_tenants=1`],
    ];
    for (const [method, path, body] of adminOnly) {
      it(`gets 403 forbidden for ${method} ${path}`, async () => {
        expectNovaFault(await api(method, path, { token: memberToken, body }), 403, 'forbidden', /Policy doesn't allow/);
      });
    }

    it('did not create the flavor it was refused', async () => {
      const flavors = await api('GET', '/compute/v2.1/flavors', { token: admin });
      expect(flavors.body.flavors.map((f: { name: string }) => f.name)).not.toContain(`bi-flavor-${suffix}`);
    });
  });

  describe('not found', () => {
    it('answers 404 itemNotFound for an unknown server uuid', async () => {
      const id = '00000000-0000-4000-8000-000000000000';
      expectNovaFault(await api('GET', `${SERVERS}/${id}`, { token: memberToken }), 404, 'itemNotFound', new RegExp(`Instance ${id} could not be found`));
      expectNovaFault(await api('DELETE', `${SERVERS}/${id}`, { token: memberToken }), 404, 'itemNotFound');
      expectNovaFault(await api('PUT', `${SERVERS}/${id}`, { token: memberToken, body: { server: { name: 'x' } } }), 404, 'itemNotFound');
    });

    it('answers 404 itemNotFound for a server id that is not a uuid', async () => {
      expectNovaFault(await api('GET', `${SERVERS}/not-a-uuid`, { token: memberToken }), 404, 'itemNotFound');
      expectNovaFault(await api('GET', `${SERVERS}/%27%20OR%201%3D1`, { token: memberToken }), 404, 'itemNotFound');
    });

    it('answers 404 for a path with no route and 405 for a method the path does not have', async () => {
      expectNovaFault(await api('PUT', '/compute/v2.1/no-such-resource', { token: memberToken, body: {} }), 404, 'itemNotFound');
      expectNovaFault(await api('PUT', '/compute/v2.1/flavors', { token: memberToken, body: {} }), 405, 'badMethod');
    });

    it('answers an unknown identity path with Keystone\'s 404 body', async () => {
      expectKeystoneError(await api('GET', '/identity/v3/no-such-resource', { token: memberToken }), 404, 'Not Found');
    });
  });

  it('never leaked anything into the project', async () => {
    const res = await api('GET', `${SERVERS}/detail`, { token: memberToken });
    expect(res.body.servers).toEqual([]);
  });
});
