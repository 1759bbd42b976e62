import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleImageDataArrival } from '../../functions/api/image/image-data-arrival.js';
import { objects } from '../../shared/aws.js';
import { imageUploadPrefix } from '../../shared/resources.js';
import { api, cloud, createProjectUser, issueToken, openstack, openstackJson, useCloudEnvironment, waitFor, type Credentials } from '../support/cloud.js';

const run = promisify(execFile);

/**
 * Image data larger than one Lambda request: uploads go through the front's function to a staging
 * key in S3 and the image-data function receives them; large downloads are redirected to S3.
 */
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

  it('still takes a small image in the API request itself: active when the CLI returns', async () => {
    const data = randomBytes(512 * 1024);
    const file = join(dir, 'small.raw');
    writeFileSync(file, data);
    const created = await openstackJson<{ id: string }>(
      ['image', 'create', '--file', file, '--disk-format', 'raw', '--container-format', 'bare', `small-${suffix}`],
      user,
    );
    expect(await showImage(created.id)).toMatchObject({ status: 'active', ...digests(data) });
    expect(await stagedUploads(created.id)).toEqual([]);

    const download = await fetch(`${cloud().apiUrl}/image/v2/images/${created.id}/file`, { headers: { 'X-Auth-Token': token }, redirect: 'manual' });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-md5')).toBe(digests(data).checksum);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(data);
    await openstack(['image', 'delete', created.id], user);
  }, 60_000);

  const putData = (id: string, body: Buffer, headers: Record<string, string>) =>
    fetch(`${cloud().apiUrl}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream', ...headers },
      body: new Uint8Array(body),
      redirect: 'manual',
    });

  it('refuses an upload without a valid token at the edge, with Keystone’s 401, before any byte is stored', async () => {
    const id = await createEmptyImage(`no-token-${suffix}`, 'raw');
    const body = randomBytes(7 * 1024 * 1024);
    for (const headers of [{} as Record<string, string>, { 'X-Auth-Token': `${token.split('.')[0]}.${Buffer.alloc(32).toString('base64url')}` }]) {
      const res = await putData(id, body, headers);
      expect(res.status).toBe(401);
      expect((await res.json()).error).toMatchObject({ code: 401, title: 'Unauthorized' });
    }
    expect(await stagedUploads(id)).toEqual([]);
    expect(await showImage(id)).toMatchObject({ status: 'queued', size: null });
    await api('DELETE', `/image/v2/images/${id}`, { token });
  }, 60_000);

  it('receives data larger than a Lambda request at S3, then hashes it; the download is redirected to S3', async () => {
    const id = await createEmptyImage(`capped-${suffix}`, 'raw');
    const body = randomBytes(7 * 1024 * 1024);
    const res = await putData(id, body, { 'X-Auth-Token': token });
    // S3's answer to the PUT (Glance answers 204).
    expect(res.status).toBe(200);
    await waitFor('the upload to become active', async () => (await showImage(id)).status === 'active');
    expect(await showImage(id)).toMatchObject(digests(body));
    await waitFor('the staged upload to be removed', async () => (await stagedUploads(id)).length === 0);

    const download = await fetch(`${cloud().apiUrl}/image/v2/images/${id}/file`, { headers: { 'X-Auth-Token': token }, redirect: 'manual' });
    expect(download.status).toBe(307);
    expect(new URL(download.headers.get('location')!).origin).toBe(new URL(cloud().endpoints.s3!).origin);
    await api('DELETE', `/image/v2/images/${id}`, { token });
  }, 60_000);

  it('refuses data that does not match its disk_format: the staged data is deleted and the image stays queued', async () => {
    const id = await createEmptyImage(`not-qcow2-${suffix}`, 'qcow2');
    expect((await putData(id, randomBytes(7 * 1024 * 1024), { 'X-Auth-Token': token })).status).toBe(200);
    await waitFor('the refused upload to be deleted', async () => (await stagedUploads(id)).length === 0);
    expect(await showImage(id)).toMatchObject({ status: 'queued', size: null, checksum: null });
    await api('DELETE', `/image/v2/images/${id}`, { token });
  }, 60_000);

  it('refuses an upload by a project that does not own the image, and a second upload to an active image', async () => {
    const id = await createEmptyImage(`owned-${suffix}`, 'raw');
    const stranger = await issueToken(await createProjectUser(`large-images-stranger-${suffix}`));
    expect((await putData(id, randomBytes(5 * 1024 * 1024), { 'X-Auth-Token': stranger })).status).toBe(200);
    await waitFor('the stranger’s upload to be deleted', async () => (await stagedUploads(id)).length === 0);
    expect(await showImage(id)).toMatchObject({ status: 'queued', size: null });

    const first = randomBytes(5 * 1024 * 1024);
    expect((await putData(id, first, { 'X-Auth-Token': token })).status).toBe(200);
    await waitFor('the owner’s upload to become active', async () => (await showImage(id)).status === 'active');
    expect((await putData(id, randomBytes(5 * 1024 * 1024), { 'X-Auth-Token': token })).status).toBe(200);
    await waitFor('the second upload to be deleted', async () => (await stagedUploads(id)).length === 0);
    expect(await showImage(id)).toMatchObject({ status: 'active', ...digests(first) });
    await api('DELETE', `/image/v2/images/${id}`, { token });
  }, 60_000);

  it('refuses data staged with a token revoked meanwhile (the edge has no revocation list)', async () => {
    const id = await createEmptyImage(`revoked-${suffix}`, 'raw');
    const doomed = await issueToken(user);
    const revoked = await api('DELETE', '/identity/v3/auth/tokens', { token, headers: { 'X-Subject-Token': doomed } });
    expect(revoked.status).toBe(204);
    expect((await putData(id, randomBytes(5 * 1024 * 1024), { 'X-Auth-Token': doomed })).status).toBe(200);
    await waitFor('the revoked upload to be deleted', async () => (await stagedUploads(id)).length === 0);
    expect(await showImage(id)).toMatchObject({ status: 'queued', size: null });
    await api('DELETE', `/image/v2/images/${id}`, { token });
  }, 60_000);

  it('finishes an upload whose first receiving died after claiming the image (the retried event finds its claim)', async () => {
    useCloudEnvironment();
    const { claimUpload, getImage } = await import('../../shared/store/images.js');
    const id = await createEmptyImage(`retried-${suffix}`, 'raw');
    const caller = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
    const key = `${imageUploadPrefix}${id}/${caller.project_id}/member/${caller.user_id}/${caller.id}/${Date.parse(caller.issued_at)}/req-died`;
    // The first delivery claimed the image (queued → saving) and died.
    expect(await claimUpload((await getImage(id, true))!, new Date(), 'req-died')).toBeTruthy();
    const data = randomBytes(4096);
    await objects().send(new PutObjectCommand({ Bucket: cloud().imageBucket, Key: key, Body: data }));
    await waitFor('the retried upload to become active', async () => (await showImage(id)).status === 'active');
    expect(await showImage(id)).toMatchObject(digests(data));
    // A redelivered event finds no staged data and changes nothing.
    await handleImageDataArrival(s3Event(key));
    expect(await showImage(id)).toMatchObject({ status: 'active', ...digests(data) });
    await api('DELETE', `/image/v2/images/${id}`, { token });
  }, 60_000);

  it('answers a declared upload above S3’s 5 GiB PUT limit with S3’s EntityTooLarge, without reading the body', async () => {
    const id = await createEmptyImage(`too-big-${suffix}`, 'raw');
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${cloud().apiUrl}/image/v2/images/${id}/file`, {
        method: 'PUT',
        headers: { 'X-Auth-Token': token, 'Content-Type': 'application/octet-stream', 'Content-Length': String(5 * 1024 ** 3 + 1) },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    expect(status).toBe(400);
    expect(await showImage(id)).toMatchObject({ status: 'queued', size: null });
    await api('DELETE', `/image/v2/images/${id}`, { token });
  }, 60_000);
});

/** What waits under the staging prefix for an image. */
async function stagedUploads(imageId: string): Promise<string[]> {
  useCloudEnvironment();
  const out = await objects().send(new ListObjectsV2Command({ Bucket: cloud().imageBucket, Prefix: `${imageUploadPrefix}${imageId}/` }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

function s3Event(key: string): S3Event {
  return {
    Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: cloud().imageBucket }, object: { key, size: 0 } } }],
  } as unknown as S3Event;
}
