// CloudFront KeyValueStore requests are signed with SigV4A; this registers the SDK's pure-JS
// signer (no AWS CRT native module in the Lambda bundle). Imported for its side effect only.
import '@aws-sdk/signature-v4a';
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  PutKeyCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { z } from 'zod';
import { logger } from '../../shared/logger.js';
// The API refuses shorter keys; so does the deploy.
import { MIN_KEY_BYTES } from '../../functions/api/identity/token-key.js';

/**
 * Custom resource (CDK Provider framework, onEvent): copies the token signing key from its SSM
 * SecureString parameter into a key of the public front's CloudFront KeyValueStore, where the
 * image upload router (infra/edge/) reads it to check tokens. The value never appears in the
 * template. The KeyValueStore gets the key's bytes in standard base64: the SSM value is base64
 * in the URL-safe alphabet (generated-secure-parameter.ts), which Node's decoder (the API's)
 * takes as well, but which the CloudFront Functions runtime is not documented to accept.
 * Delete leaves the store alone: it is deleted with the stack, and the parameter is kept.
 */
const PropertiesSchema = z.object({
  ParameterName: z.string().regex(/^\/[A-Za-z0-9_.\-/]+$/),
  KeyValueStoreArn: z.string().regex(/^arn:aws[a-z-]*:cloudfront::\d{12}:key-value-store\/[A-Za-z0-9-]+$/),
  // CloudFront KeyValueStore keys: at most 512 bytes.
  Key: z.string().regex(/^[A-Za-z0-9_.\-]{1,512}$/),
});
type Properties = z.infer<typeof PropertiesSchema>;

/** Another writer changing the store between Describe and PutKey makes PutKey fail with a conflict. */
const PUT_ATTEMPTS = 5;

export interface Clients {
  ssm: SSMClient;
  keyValueStore: CloudFrontKeyValueStoreClient;
}

export function keyValueStoreParameterHandler(clients: Clients) {
  return async (event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string }> => {
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const props = PropertiesSchema.parse(event.ResourceProperties);
    const value = await readKey(clients.ssm, props.ParameterName);
    await putKey(clients.keyValueStore, props, value);
    return { PhysicalResourceId: `${props.KeyValueStoreArn}#${props.Key}` };
  };
}

export const handler = keyValueStoreParameterHandler({
  ssm: new SSMClient({}),
  keyValueStore: new CloudFrontKeyValueStoreClient({}),
});

async function readKey(ssm: SSMClient, name: string): Promise<string> {
  const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  const bytes = Buffer.from((out.Parameter?.Value ?? '').trim(), 'base64');
  if (bytes.length < MIN_KEY_BYTES) throw new Error(`SSM parameter ${name} must be base64 of at least ${MIN_KEY_BYTES} bytes`);
  return bytes.toString('base64');
}

async function putKey(kvs: CloudFrontKeyValueStoreClient, props: Properties, value: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { ETag } = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: props.KeyValueStoreArn }));
    try {
      await kvs.send(new PutKeyCommand({ KvsARN: props.KeyValueStoreArn, Key: props.Key, Value: value, IfMatch: ETag }));
      logger.info('put key into key value store', { keyValueStore: props.KeyValueStoreArn, key: props.Key, parameter: props.ParameterName });
      return;
    } catch (err) {
      if (!(err instanceof ConflictException) || attempt >= PUT_ATTEMPTS) throw err;
      logger.warn('key value store changed under us, retrying', { keyValueStore: props.KeyValueStoreArn, attempt });
    }
  }
}
