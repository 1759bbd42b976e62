import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keystoneTime, signToken } from '../../../functions/api/identity/token-signing.js';
import { MAX_UPLOAD_BYTES } from '../../../functions/api/image/image-data.js';
import { caller } from '../image/support.js';
import { edge, imageUploadPrefix } from '../../../shared/resources.js';
import { loadViewerRequestFunction, type ViewerRequest } from '../../../infra/local/viewer-request-function.js';

/** The front's viewer-request function (infra/edge/), run as the local front runs it. */
const key = randomBytes(32);
const router = loadViewerRequestFunction(edge.functionFile, (name) => {
  if (name !== edge.tokenKeyName) throw new Error(`KeyNotFound: ${name}`);
  return key.toString('base64');
});

const IMAGE = '0b8e4c0e-5c1a-4c6e-9d0a-6f2b9a7e0c11';
const hour = 3600_000;
const issued = new Date(Date.now() - 1000);

/** Times as the API writes them: Keystone's, with microseconds. */
function tokenFor(project: string, roles: string[] = ['member'], expiresInMs = hour, signingKey = key): string {
  return signToken(
    { ...caller(project, roles), id: 'tok_en-1', issued_at: keystoneTime(issued), expires_at: keystoneTime(new Date(Date.now() + expiresInMs)) },
    signingKey,
  );
}

function request(method: string, uri: string, token?: string, length = MAX_UPLOAD_BYTES + 1): ViewerRequest {
  const headers: ViewerRequest['headers'] = { 'content-type': { value: 'application/octet-stream' }, 'content-length': { value: String(length) } };
  if (token) headers['x-auth-token'] = { value: token };
  return { method, uri, querystring: { a: { value: '1' } }, headers, cookies: {} };
}

const DATA = `/image/v2/images/${IMAGE}/file`;

describe('image upload router (CloudFront viewer-request function)', () => {
  it('sends an authenticated PUT of image data to the storage origin under a key naming image, caller, token and request', async () => {
    const req = request('PUT', DATA, tokenFor('project-a'));
    req.headers['x-amz-storage-class'] = { value: 'GLACIER' };
    const outcome = await router(req, 'req-1');
    expect(outcome).toMatchObject({ kind: 'request', originId: edge.storageOriginId });
    if (outcome.kind !== 'request') return;
    expect(outcome.request.uri).toBe(`/${imageUploadPrefix}${IMAGE}/project-a/member/user/tok_en-1/${issued.getTime()}/req-1`);
    expect(outcome.request.querystring).toEqual({});
    // The token goes no further than the edge, nor do S3 options.
    expect(Object.keys(outcome.request.headers).sort()).toEqual(['content-length', 'content-type']);
  });

  it('marks uploads by admins, who may upload to any project’s image', async () => {
    const outcome = await router(request('PUT', DATA, tokenFor('admin-project', ['admin', 'member'])), 'req-2');
    expect(outcome.kind === 'request' && outcome.request.uri).toBe(`/${imageUploadPrefix}${IMAGE}/admin-project/admin/user/tok_en-1/${issued.getTime()}/req-2`);
  });

  it('leaves uploads the API function takes itself to it, and those of unknown length, which S3 refuses (411)', async () => {
    const small = request('PUT', DATA, tokenFor('p'), MAX_UPLOAD_BYTES);
    expect(await router(small, 'req-6')).toEqual({ kind: 'request', request: small, originId: undefined });
    const chunked = request('PUT', DATA, tokenFor('p'));
    delete chunked.headers['content-length'];
    expect(await router(chunked, 'req-7')).toEqual({ kind: 'request', request: chunked, originId: undefined });
  });

  it('leaves downloads and every other path to the API origin, unchanged', async () => {
    for (const req of [request('GET', DATA, tokenFor('p')), request('PUT', '/image/v2/images/not-a-uuid/file', tokenFor('p')), request('PUT', `/compute/v2.1/servers`)]) {
      const outcome = await router(req, 'req-3');
      expect(outcome).toEqual({ kind: 'request', request: req, originId: undefined });
    }
  });

  it.each([
    ['no token', undefined, 'requires authentication'],
    ['a token signed with another key', tokenFor('p', ['member'], hour, randomBytes(32)), 'signature is invalid'],
    ['an expired token', tokenFor('p', ['member'], -1000), 'expired'],
    ['a malformed token', 'not-a-token', 'malformed'],
    ['a token whose payload is not JSON', `${Buffer.from('{oops').toString('base64url')}.x`, 'signature is invalid'],
  ])('answers %s with Keystone’s 401 body at the edge', async (_case, token, message) => {
    const outcome = await router(request('PUT', DATA, token), 'req-4');
    expect(outcome.kind).toBe('response');
    if (outcome.kind !== 'response') return;
    expect(outcome.response.statusCode).toBe(401);
    const body = JSON.parse((outcome.response.body as { data: string }).data);
    expect(body.error).toMatchObject({ code: 401, title: 'Unauthorized' });
    expect(body.error.message).toContain(message);
  });

  it('refuses a validly signed payload without a usable project id', async () => {
    const forged = signToken({ ...caller('../../images'), issued_at: '', expires_at: new Date(Date.now() + hour).toISOString() }, key);
    const outcome = await router(request('PUT', DATA, forged), 'req-5');
    expect(outcome.kind === 'response' && outcome.response.statusCode).toBe(401);
  });
});
