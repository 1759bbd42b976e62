import { randomBytes } from 'node:crypto';
import { ParameterAlreadyExists, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { z } from 'zod';
import { logger } from '../../shared/logger.js';

/**
 * Custom resource (CDK Provider framework, onEvent): creates an SSM SecureString parameter
 * holding a random string, which CloudFormation cannot do itself. The value never appears in
 * the template. An existing parameter is kept (a redeploy after `cdk destroy` finds the key and
 * the admin password that match the retained table), and a deleted stack leaves it in place
 * for the same reason.
 */
const PropertiesSchema = z.object({
  ParameterName: z.string().regex(/^\/[A-Za-z0-9_.\-/]+$/),
  Description: z.string().default(''),
  // CloudFormation hands every property over as a string.
  Length: z.coerce.number().int().min(16).max(1024),
});
type Properties = z.infer<typeof PropertiesSchema>;

const ssm = new SSMClient({});

export async function handler(event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string }> {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const props = PropertiesSchema.parse(event.ResourceProperties);
  if (event.RequestType === 'Update' && event.PhysicalResourceId === props.ParameterName) {
    return { PhysicalResourceId: props.ParameterName };
  }
  await createUnlessPresent(props);
  return { PhysicalResourceId: props.ParameterName };
}

async function createUnlessPresent(props: Properties): Promise<void> {
  try {
    await ssm.send(
      new PutParameterCommand({
        Name: props.ParameterName,
        Description: props.Description,
        Type: 'SecureString',
        Value: randomString(props.Length),
        Overwrite: false,
      }),
    );
    logger.info('created secure parameter', { parameter: props.ParameterName });
  } catch (err) {
    if (!(err instanceof ParameterAlreadyExists)) throw err;
    logger.info('kept existing secure parameter', { parameter: props.ParameterName });
  }
}

/** URL-safe base64 characters (A-Z a-z 0-9 - _), 6 random bits each. */
function randomString(length: number): string {
  return randomBytes(Math.ceil((length * 3) / 4)).toString('base64url').slice(0, length);
}
