import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, issueToken } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/** Nova's image proxy below 2.36: Glance's images in Nova's words, their metadata, and 404 from 2.36. */
type Body = Record<string, any>;
let adminToken: string;
let member: ProjectMember;
let imageId: string;
let privateImage: string;

const images = (method: string, path: string, token: string, body?: unknown, version = '2.35') =>
  api(method, `/compute/v2.1/images${path}`, { token, body, headers: { 'OpenStack-API-Version': `compute ${version}` } });

beforeAll(async () => {
  adminToken = await issueToken();
  member = await createProjectMember(uniqueName('img-p'), adminToken);
  imageId = await uploadTestImage(uniqueName('proxy-image'), adminToken);
  const own = await api('POST', '/image/v2/images', { token: member.token, body: { name: uniqueName('own'), disk_format: 'qcow2', container_format: 'bare' } });
  privateImage = own.body.id;
});

afterAll(async () => {
  await api('DELETE', `/image/v2/images/${imageId}`, { token: adminToken });
});

describe('the image proxy', () => {
  it("lists and shows images as Nova does, with Glance's states in Nova's words", async () => {
    const list = await images('GET', '', member.token);
    expect(list.body.images.map((i: Body) => i.id)).toEqual(expect.arrayContaining([imageId, privateImage]));
    expect(Object.keys(list.body.images[0]).sort()).toEqual(['id', 'links', 'name']);
    const shown = (await images('GET', `/${imageId}`, member.token)).body.image;
    expect(shown).toMatchObject({ id: imageId, status: 'ACTIVE', progress: 100, minDisk: 0, minRam: 0, metadata: {} });
    expect(shown['OS-EXT-IMG-SIZE:size']).toBeGreaterThan(0);
    const queued = (await images('GET', `/${privateImage}`, member.token)).body.image;
    expect(queued.status).toBe('SAVING');
    const detail = await images('GET', `/detail?status=ACTIVE&limit=1000`, member.token);
    expect(detail.body.images.every((i: Body) => i.status === 'ACTIVE')).toBe(true);
    expect((await images('GET', '/detail?minRam=x', member.token)).status).toBe(400);
  });

  it('keeps metadata as the image properties: set, merge, one key, delete, and refuses other projects', async () => {
    const meta = (path: string) => `/${privateImage}/metadata${path}`;
    expect((await images('PUT', meta(''), member.token, { metadata: { a: '1', b: '2' } })).body.metadata).toEqual({ a: '1', b: '2' });
    expect((await images('POST', meta(''), member.token, { metadata: { c: '3' } })).body.metadata).toEqual({ a: '1', b: '2', c: '3' });
    expect((await images('PUT', meta('/a'), member.token, { meta: { a: 'x' } })).body).toEqual({ meta: { a: 'x' } });
    expect((await images('GET', meta('/a'), member.token)).body).toEqual({ meta: { a: 'x' } });
    expect((await images('DELETE', meta('/b'), member.token)).status).toBe(204);
    expect((await images('GET', meta(''), member.token)).body.metadata).toEqual({ a: 'x', c: '3' });
    expect((await images('GET', meta('/b'), member.token)).status).toBe(404);
    expect((await images('PUT', meta('/a'), member.token, { meta: { z: '1' } })).status).toBe(400);
    // The public image is the admin's: a member sees it and cannot change it.
    expect((await images('POST', `/${imageId}/metadata`, member.token, { metadata: { x: '1' } })).status).toBe(403);
  });

  it('deletes an image through Glance, and is gone from 2.36', async () => {
    expect((await images('GET', '', member.token, undefined, '2.36')).status).toBe(404);
    expect((await images('DELETE', `/${privateImage}`, member.token)).status).toBe(204);
    expect((await images('GET', `/${privateImage}`, member.token)).status).toBe(404);
    expect((await api('GET', `/image/v2/images/${privateImage}`, { token: member.token })).status).toBe(404);
  });
});
