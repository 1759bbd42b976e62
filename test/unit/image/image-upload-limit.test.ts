import { describe, expect, it } from 'vitest';
import { MAX_UPLOAD_BYTES, imageDataRoutes } from '../../../functions/api/image/image-data.js';
import type { ApiRequest } from '../../../functions/api/http/types.js';
import { RequestTooLarge, UnsupportedMediaType } from '../../../shared/errors.js';
import { caller } from './support.js';

const upload = imageDataRoutes.find((r) => r.method === 'PUT')!.handler;

function request(body: Buffer, contentType = 'application/octet-stream'): ApiRequest {
  return {
    method: 'PUT',
    path: '/image/v2/images/x/file',
    params: { image_id: 'x' },
    query: new URLSearchParams(),
    headers: { 'content-type': contentType },
    body,
    requestId: 'req-test',
    baseUrl: 'http://cloud',
    auth: caller('a'),
    microversion: undefined as never,
  };
}

describe('image data upload limits', () => {
  it('fits a base64-encoded body in a Lambda invocation', () => {
    expect(Math.ceil(MAX_UPLOAD_BYTES / 3) * 4).toBeLessThan(6 * 1024 * 1024);
  });

  it('refuses data over the limit with 413 before touching any store', async () => {
    await expect(upload(request(Buffer.alloc(MAX_UPLOAD_BYTES + 1)))).rejects.toBeInstanceOf(RequestTooLarge);
  });

  it('refuses anything but application/octet-stream with 415', async () => {
    await expect(upload(request(Buffer.from('x'), 'application/json'))).rejects.toBeInstanceOf(UnsupportedMediaType);
  });
});
