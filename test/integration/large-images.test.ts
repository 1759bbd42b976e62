import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cloud, createProjectUser, issueToken, openstack, openstackJson, useCloudEnvironment, waitFor, type Credentials } from '../support/cloud.js';

const run = promisify(execFile);

/** Image data larger than one Lambda request: uploads and downloads go by S3 redirects. */
describe('images at real sizes', () => {
  const suffix = Math.random().toString(36).slice(2, 8);
  const dir = mkdtempSync(join(tmpdir(), 'large-images-'));
  let user: Credentials;
  let token: string;

  beforeAll(async () => {
    user = await createProjectUser(`large-images-${suffix}`);
    token = await issueToken(user);
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** size, md5 and sha512 as the image API must report them. */
  const digests = (data: Buffer) => ({
    size: data.length,
    checksum: createHash('md5').update(data).digest('hex'),
    os_hash_algo: 'sha512',
    os_hash_value: createHash('sha512').update(data).digest('hex'),
  });

  const showImage = async (id: string) => (await api('GET', `/image/v2/images/${id}`, { token })).body;

  const createEmptyImage = async (name: string, diskFormat: string) => {
    const created = await api('POST', '/image/v2/images', { token, body: { name, disk_format: diskFormat, container_format: 'bare' } });
    expect(created.status).toBe(201);
    return created.body.id as string;
  };

  it('uploads a 50 MB qcow2 with `openstack image create --file` and saves it back byte for byte', async () => {
    const file = join(dir, 'big.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', file, '128M']);
    await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 40M', '-c', `write -P 0xa5 60M 8M`, file]);
    const data = readFileSync(file);
    expect(data.length).toBeGreaterThan(40 * 1024 * 1024);

    const created = await openstackJson<{ id: string }>(
      ['image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare', `big-${suffix}`],
      user,
    );
    const active = await waitFor('the uploaded image to become active', async () => {
      const image = await showImage(created.id);
      return image.status === 'active' && image;
    });
    expect(active).toMatchObject({ ...digests(data), virtual_size: 128 * 1024 * 1024 });

    const saved = join(dir, 'saved.qcow2');
    await openstack(['image', 'save', '--file', saved, created.id], user);
    expect(digests(readFileSync(saved))).toEqual(digests(data));

    await openstack(['image', 'delete', created.id], user);
  }, 180_000);

  it('still takes a small image in the API request itself', async () => {
    const data = randomBytes(512 * 1024);
    const file = join(dir, 'small.raw');
    writeFileSync(file, data);
    const created = await openstackJson<{ id: string; status: string; checksum: string }>(
      ['image', 'create', '--file', file, '--disk-format', 'raw', '--container-format', 'bare', `small-${suffix}`],
      user,
    );
    // Stored and hashed in the PUT itself: active as soon as the CLI returns.
    expect(await showImage(created.id)).toMatchObject({ status: 'active', ...digests(data) });

    const download = await fetch(`${cloud().apiUrl}/image/v2/images/${created.id}/file`, { headers: { 'X-Auth-Token': token }, redirect: 'manual' });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-md5')).toBe(digests(data).checksum);
    await openstack(['image', 'delete', created.id], user);
  }, 60_000);

  it('answers a PUT larger than a Lambda request with a redirect to S3, never taking the body itself', async () => {
    const id = await createEmptyImage(`capped-${suffix}`, 'raw');
    const body = randomBytes(7 * 1024 * 1024);
    const res = await fetch(`${cloud().apiUrl}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': token, 'Content-Type': 'application/octet-stream' },
      body,
      redirect: 'manual',
    });
    expect(res.status).toBe(307);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin).toBe(new URL(cloud().endpoints.s3!).origin);
    expect(location.searchParams.get('X-Amz-Signature')).toBeTruthy();
    // The body went nowhere: the image waits for its data in `saving`, without any.
    expect(await showImage(id)).toMatchObject({ status: 'saving', size: null, checksum: null });

    // Following the redirect, as keystoneauth does (same method, same body), completes it.
    const put = await fetch(location, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'X-Auth-Token': token }, body });
    expect(put.status).toBe(200);
    await waitFor('the redirected upload to become active', async () => (await showImage(id)).status === 'active');
    expect(await showImage(id)).toMatchObject(digests(body));

    const download = await fetch(`${cloud().apiUrl}/image/v2/images/${id}/file`, { headers: { 'X-Auth-Token': token }, redirect: 'manual' });
    expect(download.status).toBe(307);
    await api('DELETE', `/image/v2/images/${id}`, { token });
  }, 60_000);

  it('refuses redirected data that does not match its disk_format, and the image goes back to queued', async () => {
    const id = await createEmptyImage(`not-qcow2-${suffix}`, 'qcow2');
    const body = randomBytes(7 * 1024 * 1024);
    const res = await fetch(`${cloud().apiUrl}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': token, 'Content-Type': 'application/octet-stream' },
      body,
      redirect: 'manual',
    });
    expect(res.status).toBe(307);
    const put = await fetch(res.headers.get('location')!, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body });
    expect(put.status).toBe(200);
    await waitFor('the refused upload to go back to queued', async () => (await showImage(id)).status === 'queued');
    expect(await showImage(id)).toMatchObject({ size: null, checksum: null });
    await api('DELETE', `/image/v2/images/${id}`, { token });
  }, 60_000);

  it('refuses a single upload above S3’s 5 GiB PUT limit', async () => {
    const id = await createEmptyImage(`too-big-${suffix}`, 'raw');
    // A front hands the function only the headers of such a request: call the handler so, in-process.
    useCloudEnvironment();
    const { handler } = await import('../../functions/api/handler.js');
    const { lambdaContext } = await import('../../infra/local/lambda-context.js');
    const path = `/image/v2/images/${id}/file`;
    const headers = { 'X-Auth-Token': token, 'Content-Type': 'application/octet-stream', 'Content-Length': String(5 * 1024 ** 3 + 1), Host: 'localhost' };
    const event = { httpMethod: 'PUT', path, resource: '/{proxy+}', headers, multiValueHeaders: {}, queryStringParameters: null, multiValueQueryStringParameters: null, pathParameters: null, stageVariables: null, body: null, isBase64Encoded: false, requestContext: { stage: '$default' } };
    const res = await handler(event as never, lambdaContext('api') as never);
    expect(res.statusCode).toBe(413);
    expect(res.body).toContain('5 GiB');
    expect((await showImage(id)).status).toBe('queued');
    await api('DELETE', path.replace('/file', ''), { token });
  }, 60_000);
});
