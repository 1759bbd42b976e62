import { createPrivateKey, createPublicKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consolePrivateKey, consolePublicKey } from '../../../shared/console/console-keys.js';
import { mintConsoleToken, verifyConsoleToken } from '../../../shared/console/console-token.js';

/**
 * The custom resource that makes the console key pair, run with the real SDK against a small
 * HTTP endpoint speaking SSM's JSON protocol (PutParameter, GetParameter), holding parameters.
 */
type Parameter = { Name: string; Type: string; Value: string };

let server: Server;
const stored = new Map<string, Parameter>();
let handler: (event: CloudFormationCustomResourceEvent) => Promise<{ PhysicalResourceId: string; Data?: { PublicKey: string } }>;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const input = JSON.parse(body) as Parameter & { Overwrite?: boolean; WithDecryption?: boolean };
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      const fail = (type: string) => {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: type, message: type }));
      };
      const target = req.headers['x-amz-target'];
      if (target === 'AmazonSSM.PutParameter') {
        if (stored.has(input.Name) && !input.Overwrite) return fail('ParameterAlreadyExists');
        stored.set(input.Name, { Name: input.Name, Type: input.Type, Value: input.Value });
        return res.end(JSON.stringify({ Version: 1, Tier: 'Standard' }));
      }
      if (target === 'AmazonSSM.GetParameter') {
        const p = stored.get(input.Name);
        if (!p) return fail('ParameterNotFound');
        if (p.Type === 'SecureString' && !input.WithDecryption) return fail('InvalidAction');
        return res.end(JSON.stringify({ Parameter: { ...p, Version: 1 } }));
      }
      fail('InvalidAction');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ENDPOINT_URL_SSM = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  ({ handler } = await import('../../../infra/custom-resources/console-key-pair.js'));
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SSM;
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => stored.clear());

const PRIVATE = '/novaless/console-signing-key';
const PUBLIC = '/novaless/console-verify-key';
const event = (RequestType: 'Create' | 'Update' | 'Delete') =>
  ({
    RequestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://example.com/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Novaless/1',
    RequestId: 'request-1',
    LogicalResourceId: 'ConsoleKeysKeyPair',
    ResourceType: 'Custom::NovalessConsoleKeyPair',
    PhysicalResourceId: PRIVATE,
    ResourceProperties: { ServiceToken: 'x', PrivateKeyParameterName: PRIVATE, PublicKeyParameterName: PUBLIC },
  }) as CloudFormationCustomResourceEvent;

describe('console key pair custom resource', () => {
  it('puts an Ed25519 private key in a SecureString and its public half in a String; tokens it signs verify with the public one', async () => {
    const out = await handler(event('Create'));
    expect(out.PhysicalResourceId).toBe(PRIVATE);
    expect(stored.get(PRIVATE)).toMatchObject({ Type: 'SecureString' });
    expect(stored.get(PUBLIC)).toMatchObject({ Type: 'String', Value: out.Data!.PublicKey });
    const privateKey = consolePrivateKey(stored.get(PRIVATE)!.Value, 'ssm');
    const publicKey = consolePublicKey(stored.get(PUBLIC)!.Value, 'ssm');
    const { token } = await mintConsoleToken(privateKey, { host: 'h', instanceId: '0b7c1c49-5f0e-4bd4-9a55-0c2f5b1b4c11', protocol: 'vnc', projectId: 'p', userId: 'u' });
    expect((await verifyConsoleToken(token, publicKey, { host: 'h' })).aud).toBe('h');
    expect(stored.get(PUBLIC)!.Value).not.toContain('PRIVATE');
  });

  it('keeps an existing private key on a redeploy and rewrites the public parameter from it', async () => {
    await handler(event('Create'));
    const privatePem = stored.get(PRIVATE)!.Value;
    stored.set(PUBLIC, { Name: PUBLIC, Type: 'String', Value: 'tampered' });
    await handler(event('Update'));
    expect(stored.get(PRIVATE)!.Value).toBe(privatePem);
    expect(stored.get(PUBLIC)!.Value).toBe(createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' }).toString());
  });

  it('leaves both parameters when the stack is deleted', async () => {
    await handler(event('Create'));
    expect(await handler(event('Delete'))).toEqual({ PhysicalResourceId: PRIVATE });
    expect([...stored.keys()].sort()).toEqual([PRIVATE, PUBLIC]);
  });
});
