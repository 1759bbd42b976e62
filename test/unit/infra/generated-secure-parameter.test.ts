import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * The custom resource that creates the token key and admin password, run with the real SDK
 * against a small HTTP endpoint speaking SSM's JSON protocol, which records what it was sent.
 */
type PutParameter = { Name: string; Type: string; Value: string; Overwrite: boolean; Description: string };

let server: Server;
let received: PutParameter[] = [];
const existing = new Set<string>();
let handler: (event: CloudFormationCustomResourceEvent) => Promise<{ PhysicalResourceId: string }>;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const put = JSON.parse(body) as PutParameter;
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (req.headers['x-amz-target'] !== 'AmazonSSM.PutParameter') {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'InvalidAction', message: String(req.headers['x-amz-target']) }));
        return;
      }
      received.push(put);
      if (existing.has(put.Name) && !put.Overwrite) {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'ParameterAlreadyExists', message: 'The parameter already exists.' }));
        return;
      }
      existing.add(put.Name);
      res.end(JSON.stringify({ Version: 1, Tier: 'Standard' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ENDPOINT_URL_SSM = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  ({ handler } = await import('../../../infra/custom-resources/generated-secure-parameter.js'));
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SSM;
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  existing.clear();
});

const base = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://example.com/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Novaless/1',
  RequestId: 'request-1',
  LogicalResourceId: 'SecretsTokenKey',
  ResourceType: 'Custom::NovalessSecureParameter',
};
// CloudFormation passes every property as a string.
const properties = { ServiceToken: base.ServiceToken, ParameterName: '/novaless/token-signing-key', Description: 'key', Length: '64' };

describe('generated secure parameter', () => {
  it('creates a SecureString with a random value of the asked length, never overwriting', async () => {
    const out = await handler({ ...base, RequestType: 'Create', ResourceProperties: properties });
    expect(out).toEqual({ PhysicalResourceId: '/novaless/token-signing-key' });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ Name: '/novaless/token-signing-key', Type: 'SecureString', Overwrite: false });
    expect(received[0]!.Value).toMatch(/^[A-Za-z0-9_-]{64}$/);

    existing.clear();
    await handler({ ...base, RequestType: 'Create', ResourceProperties: properties });
    expect(received[1]!.Value).not.toBe(received[0]!.Value);
  });

  it('keeps a parameter that is already there (left by an earlier stack)', async () => {
    existing.add('/novaless/token-signing-key');
    const out = await handler({ ...base, RequestType: 'Create', ResourceProperties: properties });
    expect(out).toEqual({ PhysicalResourceId: '/novaless/token-signing-key' });
    expect(received).toHaveLength(1);
  });

  it('leaves the value alone on an update of the same parameter and on delete', async () => {
    const physical = { PhysicalResourceId: '/novaless/token-signing-key' };
    await handler({ ...base, ...physical, RequestType: 'Update', ResourceProperties: properties, OldResourceProperties: properties });
    await handler({ ...base, ...physical, RequestType: 'Delete', ResourceProperties: properties });
    expect(received).toEqual([]);
  });

  it('creates the new parameter when an update renames it', async () => {
    const renamed = { ...properties, ParameterName: '/novaless/other-key' };
    const out = await handler({
      ...base,
      PhysicalResourceId: '/novaless/token-signing-key',
      RequestType: 'Update',
      ResourceProperties: renamed,
      OldResourceProperties: properties,
    });
    expect(out).toEqual({ PhysicalResourceId: '/novaless/other-key' });
    expect(received.map((r) => r.Name)).toEqual(['/novaless/other-key']);
  });

  it('rejects properties it cannot use', async () => {
    await expect(
      handler({ ...base, RequestType: 'Create', ResourceProperties: { ...properties, Length: 'many' } }),
    ).rejects.toThrow();
    await expect(
      handler({ ...base, RequestType: 'Create', ResourceProperties: { ...properties, ParameterName: 'no-slash' } }),
    ).rejects.toThrow();
    expect(received).toEqual([]);
  });
});
