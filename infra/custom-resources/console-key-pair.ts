import { createPrivateKey, createPublicKey } from 'node:crypto';
import { GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { z } from 'zod';
import { generateConsoleKeyPair } from '../../shared/console/console-keys.js';
import { logger } from '../../shared/logger.js';

/**
 * Custom resource (CDK Provider framework, onEvent): the console token key pair (Ed25519). The
 * private key goes to an SSM SecureString the API reads (CONSOLE_KEY_PARAMETER), the public key
 * to a plain String parameter operators hand to `host-agent install --console-public-key`. An
 * existing private key is kept (hosts already trust its public half) and its public parameter
 * rewritten from it; a deleted stack leaves both, as it leaves the other keys.
 */
const PropertiesSchema = z.object({
  PrivateKeyParameterName: z.string().regex(/^\/[A-Za-z0-9_.\-/]+$/),
  PublicKeyParameterName: z.string().regex(/^\/[A-Za-z0-9_.\-/]+$/),
});
type Properties = z.infer<typeof PropertiesSchema>;

const ssm = new SSMClient({});

export async function handler(event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string; Data?: { PublicKey: string } }> {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const props = PropertiesSchema.parse(event.ResourceProperties);
  const publicPem = await ensurePrivateKey(props);
  await ssm.send(
    new PutParameterCommand({
      Name: props.PublicKeyParameterName,
      Description: 'novaless console token verification key (Ed25519, SPKI PEM): give it to host-agent install --console-public-key',
      Type: 'String',
      Value: publicPem,
      Overwrite: true,
    }),
  );
  logger.info('console key pair in place', { private_key: props.PrivateKeyParameterName, public_key: props.PublicKeyParameterName });
  return { PhysicalResourceId: props.PrivateKeyParameterName, Data: { PublicKey: publicPem } };
}

/** Makes the private key unless it exists; answers its public half (PEM). */
async function ensurePrivateKey(props: Properties): Promise<string> {
  const existing = await readPrivateKey(props.PrivateKeyParameterName);
  if (existing) return existing;
  const pair = generateConsoleKeyPair();
  try {
    await ssm.send(
      new PutParameterCommand({
        Name: props.PrivateKeyParameterName,
        Description: 'novaless console token signing key (Ed25519, PKCS#8 PEM)',
        Type: 'SecureString',
        Value: pair.privatePem,
        Overwrite: false,
      }),
    );
    logger.info('created the console signing key', { parameter: props.PrivateKeyParameterName });
    return pair.publicPem;
  } catch (error) {
    // Created meanwhile (a retried request): the one stored wins.
    if (!(error instanceof ParameterAlreadyExists)) throw error;
    const stored = await readPrivateKey(props.PrivateKeyParameterName);
    if (!stored) throw error;
    return stored;
  }
}

async function readPrivateKey(name: string): Promise<string | undefined> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const pem = out.Parameter?.Value;
    return pem ? createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' }).toString() : undefined;
  } catch (error) {
    if (error instanceof ParameterNotFound) return undefined;
    throw error;
  }
}
