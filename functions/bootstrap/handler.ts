import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { z } from 'zod';
import { logger } from '../../shared/logger.js';
import { bootstrapCloud } from './bootstrap-cloud.js';

const PropertiesSchema = z.object({ AdminPasswordParameter: z.string().min(1) });

/** CloudFormation custom resource (CDK Provider framework): bootstraps the cloud on create and update. */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string }> {
  const physicalId = 'novaless-bootstrap';
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalId };
  const { AdminPasswordParameter } = PropertiesSchema.parse(event.ResourceProperties);
  const out = await new SSMClient({}).send(new GetParameterCommand({ Name: AdminPasswordParameter, WithDecryption: true }));
  const admin = await bootstrapCloud({ adminPassword: out.Parameter!.Value! });
  logger.info('cloud bootstrapped', { admin_project_id: admin.projectId });
  return { PhysicalResourceId: physicalId };
}
