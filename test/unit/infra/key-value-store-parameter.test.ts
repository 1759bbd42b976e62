import { randomBytes } from 'node:crypto';
import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keyValueStoreParameterHandler } from '../../../infra/custom-resources/key-value-store-parameter.js';

/**
 * The custom resource that copies the token key from SSM into the front's KeyValueStore, run
 * with the real SDK clients (and the pure-JS SigV4A signer) against a small HTTP endpoint that
 * speaks SSM's JSON protocol and the KeyValueStore's REST protocol, and records what it was sent.
 */
const kvsArn = 'arn:aws:cloudfront::123456789012:key-value-store/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

type Call = { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string };
let server: Server;
let calls: Call[] = [];
let parameterValue = '';
let etag = 0;
let conflictsToAnswer = 0;
let handler: (event: CloudFormationCustomResourceEvent) => Promise<{ PhysicalResourceId: string }>;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const path = decodeURIComponent(req.url ?? '');
      calls.push({ method: req.method ?? '', path, headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      if (req.headers['x-amz-target'] === 'AmazonSSM.GetParameter') {
        const { Name } = JSON.parse(body) as { Name: string };
        res.end(JSON.stringify({ Parameter: { Name, Type: 'SecureString', Value: parameterValue, Version: 1 } }));
      } else if (req.method === 'GET' && path === `/key-value-stores/${kvsArn}`) {
        res.setHeader('etag', `etag-${etag}`);
        res.end(JSON.stringify({ KvsARN: kvsArn, ItemCount: 0, TotalSizeInBytes: 0, Created: 0, Status: 'READY' }));
      } else if (req.method === 'PUT' && path.startsWith(`/key-value-stores/${kvsArn}/keys/`)) {
        if (conflictsToAnswer > 0 || req.headers['if-match'] !== `etag-${etag}`) {
          conflictsToAnswer--;
          etag++;
          res.statusCode = 409;
          res.setHeader('x-amzn-errortype', 'ConflictException');
          res.end(JSON.stringify({ message: 'The ETag does not match' }));
          return;
        }
        etag++;
        res.setHeader('etag', `etag-${etag}`);
        res.end(JSON.stringify({ ItemCount: 1, TotalSizeInBytes: 100 }));
      } else {
        res.statusCode = 400;
        res.end(JSON.stringify({ message: `unexpected ${req.method} ${path}` }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://localhost:${(server.address() as AddressInfo).port}`;
  // The KeyValueStore client puts the ARN's account in front of the endpoint's host name
  // (123456789012.localhost), which does not resolve: send every host to the test server.
  const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
    options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4)) as unknown as LookupFunction;
  const common = { region: 'eu-west-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  handler = keyValueStoreParameterHandler({
    ssm: new SSMClient(common),
    keyValueStore: new CloudFrontKeyValueStoreClient({ ...common, requestHandler: { httpAgent: new Agent({ lookup }) } }),
  });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  calls = [];
  etag = 0;
  conflictsToAnswer = 0;
  parameterValue = randomBytes(32).toString('base64');
});

const base = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://example.com/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Novaless/1',
  RequestId: 'request-1',
  LogicalResourceId: 'EdgeKeysTokenKey',
  ResourceType: 'Custom::NovalessKeyValueStoreParameter',
};
const properties = { ServiceToken: base.ServiceToken, ParameterName: '/novaless/token-signing-key', KeyValueStoreArn: kvsArn, Key: 'token-key' };
const puts = () => calls.filter((c) => c.method === 'PUT');

describe('key value store parameter', () => {
  it('reads the parameter decrypted and puts it under the key, against the store’s current ETag, signed with SigV4A', async () => {
    etag = 7;
    const out = await handler({ ...base, RequestType: 'Create', ResourceProperties: properties });
    expect(out).toEqual({ PhysicalResourceId: `${kvsArn}#token-key` });

    const get = calls.find((c) => c.headers['x-amz-target'] === 'AmazonSSM.GetParameter')!;
    expect(JSON.parse(get.body)).toEqual({ Name: '/novaless/token-signing-key', WithDecryption: true });
    expect(puts()).toHaveLength(1);
    const [put] = puts();
    expect(put!.path).toBe(`/key-value-stores/${kvsArn}/keys/token-key`);
    expect(put!.headers['if-match']).toBe('etag-7');
    expect(JSON.parse(put!.body)).toEqual({ Value: parameterValue });
    expect(put!.headers.host).toMatch(/^123456789012\.localhost:/);
    expect(put!.headers.authorization).toMatch(/^AWS4-ECDSA-P256-SHA256 /);
  });

  it('puts the key in standard base64 when SSM holds it in the URL-safe alphabet', async () => {
    const bytes = Buffer.from('fb'.repeat(48), 'hex'); // encodes to "+/+/..." in base64, "-_-_..." in base64url
    parameterValue = bytes.toString('base64url');
    await handler({ ...base, RequestType: 'Create', ResourceProperties: properties });
    expect(JSON.parse(puts()[0]!.body)).toEqual({ Value: bytes.toString('base64') });
  });

  it('puts the key again on update (a new store, or a new key name)', async () => {
    const physical = { PhysicalResourceId: `${kvsArn}#token-key` };
    await handler({ ...base, ...physical, RequestType: 'Update', ResourceProperties: properties, OldResourceProperties: properties });
    expect(puts()).toHaveLength(1);
  });

  it('describes the store again and retries when the ETag changed in between', async () => {
    conflictsToAnswer = 2;
    await handler({ ...base, RequestType: 'Create', ResourceProperties: properties });
    expect(puts()).toHaveLength(3);
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(3);
  });

  it('does nothing on delete', async () => {
    const out = await handler({ ...base, PhysicalResourceId: `${kvsArn}#token-key`, RequestType: 'Delete', ResourceProperties: properties });
    expect(out).toEqual({ PhysicalResourceId: `${kvsArn}#token-key` });
    expect(calls).toEqual([]);
  });

  it('refuses a key shorter than the API accepts, and properties it cannot use, putting nothing', async () => {
    parameterValue = randomBytes(16).toString('base64');
    await expect(handler({ ...base, RequestType: 'Create', ResourceProperties: properties })).rejects.toThrow(/at least 32 bytes/);
    await expect(
      handler({ ...base, RequestType: 'Create', ResourceProperties: { ...properties, KeyValueStoreArn: 'arn:aws:s3:::bucket' } }),
    ).rejects.toThrow();
    await expect(
      handler({ ...base, RequestType: 'Create', ResourceProperties: { ...properties, ParameterName: 'no-slash' } }),
    ).rejects.toThrow();
    expect(puts()).toEqual([]);
  });
});
