import '../support/cloud-env.js';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_UPLOAD_BYTES } from '../../functions/api/image/image-data.js';
import { api, cloud, issueToken } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';

/**
 * Paths as clients really send them. Nova's routes (the `routes` library) match a resource's path
 * exactly: a trailing slash (tempest's empty-id tests) or an empty segment matches nothing, 404,
 * never the collection or another resource read from the segments around it. Glance's image
 * collection takes one trailing slash.
 */
let token: string;
const images: string[] = [];

beforeAll(async () => {
  token = await issueToken();
});

afterAll(async () => {
  for (const id of images) await api('DELETE', `/image/v2/images/${id}`, { token });
});

describe('a trailing slash', () => {
  it.each([
    ['GET', '/compute/v2.1/servers/'],
    ['GET', '/compute/v2.1/flavors/1/'],
    ['GET', '/compute/v2.1/os-simple-tenant-usage/'],
    ['DELETE', '/compute/v2.1/images/'],
    ['DELETE', '/compute/v2.1/os-security-groups/'],
  ])('%s %s is an empty id in compute: Nova’s 404', async (method, path) => {
    const res = await api(method, path, { token });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } });
  });

  it('on compute’s version documents and Glance’s image collection is taken', async () => {
    expect((await api('GET', '/compute/v2.1/')).status).toBe(200);
    const [plain, slashed] = await Promise.all([api('GET', '/image/v2/images', { token }), api('GET', '/image/v2/images/', { token })]);
    expect(slashed.status).toBe(200);
    expect(slashed.body.images).toEqual(plain.body.images);
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

  it('in an image data path is Glance’s 404', async () => {
    const res = await api('GET', '/image/v2/images//file', { token });
    expect(res.status).toBe(404);
    expect(String(res.body)).toContain('404 Not Found');
  });
});

/** `curl -T - -H 'Transfer-Encoding: chunked'` of the bytes to the image's data, through the public endpoint. */
function curlChunked(imageId: string, data: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const curl = spawn('curl', [
      '-sS', '-T', '-', '-H', 'Transfer-Encoding: chunked', '-H', 'Content-Type: application/octet-stream', '-H', `X-Auth-Token: ${token}`,
      '-w', '\n%{http_code}', `${cloud().apiUrl}/image/v2/images/${imageId}/file`,
    ]);
    let out = '';
    curl.stdout.on('data', (chunk) => (out += chunk));
    curl.on('error', reject);
    curl.on('close', () => {
      const lines = out.split('\n');
      resolve({ status: Number(lines.pop()), body: lines.join('\n') });
    });
    // Written in pieces, so the client cannot know the length up front.
    for (let at = 0; at < data.length; at += 64 * 1024) curl.stdin.write(data.subarray(at, at + 64 * 1024));
    curl.stdin.end();
  });
}

async function newImage(): Promise<string> {
  const res = await api('POST', '/image/v2/images', { token, body: { name: uniqueName('chunked'), disk_format: 'raw', container_format: 'bare' } });
  expect(res.status).toBe(201);
  images.push(res.body.id);
  return res.body.id;
}

describe('image data sent chunked (no Content-Length), as glanceclient sends files', () => {
  it('is stored, hashed and served back, through the public endpoint', async () => {
    const id = await newImage();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const put = await curlChunked(id, data);
    expect(put, put.body).toMatchObject({ status: 204 });
    const image = (await api('GET', `/image/v2/images/${id}`, { token })).body;
    expect(image).toMatchObject({ status: 'active', size: data.length, checksum: createHash('md5').update(data).digest('hex') });
    expect(image.os_hash_value).toBe(createHash('sha512').update(data).digest('hex'));
    const res = await fetch(`${cloud().apiUrl}/image/v2/images/${id}/file`, { headers: { 'X-Auth-Token': token } });
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
  });

  it('beyond what the API takes in one request: 413 saying to send a Content-Length, and the image stays queued', async () => {
    const id = await newImage();
    const put = await curlChunked(id, randomBytes(MAX_UPLOAD_BYTES + 1024));
    expect(put.status).toBe(413);
    expect(put.body).toMatch(/without Content-Length \(chunked\) goes through the API function, which takes at most \d+ bytes; send larger images with their Content-Length/);
    expect((await api('GET', `/image/v2/images/${id}`, { token })).body.status).toBe('queued');
  });
});
