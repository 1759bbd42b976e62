import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { NovalessStack } from '../../../infra/stack.js';
import {
  conductorQueue,
  deadLetterQueueName,
  functionSettings,
  hostPrincipalTag,
  hostQueue,
  schedulerQueue,
  tableDefinition,
  type QueueDefinition,
} from '../../../shared/resources.js';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

let template: Template;

beforeAll(() => {
  // The same feature flags as `cdk synth` (cdk.json), so the test sees the deployed template.
  const { context } = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8'));
  const app = new App({ context });
  template = Template.fromStack(new NovalessStack(app, 'Novaless', { env: { account: '123456789012', region: 'eu-west-1' } }));
}, 120_000);

function only(type: string, props?: object): [string, Resource] {
  const found = Object.entries(template.findResources(type, props ? { Properties: props } : undefined));
  expect(found).toHaveLength(1);
  return found[0] as [string, Resource];
}

function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

describe('state table', () => {
  it('is on-demand, point-in-time recoverable, expires items by TTL, and is retained', () => {
    const [, table] = only('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      TableName: tableDefinition.name,
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('has the three string-keyed global indexes projecting all attributes', () => {
    const [, table] = only('AWS::DynamoDB::Table');
    const indexes = table.Properties.GlobalSecondaryIndexes as Array<Record<string, any>>;
    expect(indexes.map((i) => i.IndexName)).toEqual(['gsi1', 'gsi2', 'gsi3']);
    for (const index of indexes) {
      expect(index.Projection).toEqual({ ProjectionType: 'ALL' });
      expect(index.KeySchema).toEqual([
        { AttributeName: `${index.IndexName}pk`, KeyType: 'HASH' },
        { AttributeName: `${index.IndexName}sk`, KeyType: 'RANGE' },
      ]);
    }
    const types = new Set((table.Properties.AttributeDefinitions as Array<{ AttributeType: string }>).map((a) => a.AttributeType));
    expect([...types]).toEqual(['S']);
  });
});

describe.each([
  ['scheduler', schedulerQueue, functionSettings.scheduler],
  ['conductor', conductorQueue, functionSettings.conductor],
] as const)('%s queue', (_name, definition: QueueDefinition, settings) => {
  it('redrives to its dead-letter queue after maxReceiveCount deliveries', () => {
    const [dlqId] = only('AWS::SQS::Queue', { QueueName: deadLetterQueueName(definition.name) });
    const [, queue] = only('AWS::SQS::Queue', { QueueName: definition.name });
    expect(queue.Properties).toMatchObject({
      VisibilityTimeout: definition.visibilityTimeoutSeconds,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: definition.maxReceiveCount },
    });
  });

  it('feeds its function in batches, reporting partial failures, with a timeout a sixth of the visibility timeout or less', () => {
    const [queueId] = only('AWS::SQS::Queue', { QueueName: definition.name });
    const [, mapping] = only('AWS::Lambda::EventSourceMapping', { EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    expect(mapping.Properties).toMatchObject({ BatchSize: definition.batchSize, FunctionResponseTypes: ['ReportBatchItemFailures'] });

    const functionId = (mapping.Properties.FunctionName as { Ref: string }).Ref;
    const fn = template.toJSON().Resources[functionId] as Resource;
    expect(fn.Properties.Timeout).toBe(settings.timeoutSeconds);
    expect(definition.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * settings.timeoutSeconds);
  });
});

describe('functions', () => {
  it('run Node.js 22 with the environment every handler reads', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: Match.stringLikeRegexp('^novaless-(api|scheduler|conductor|sweeper|bootstrap)$') } } },
    });
    expect(Object.keys(functions)).toHaveLength(5);
    for (const fn of Object.values(functions) as Resource[]) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(Object.keys(fn.Properties.Environment.Variables)).toEqual(
        expect.arrayContaining(['TABLE_NAME', 'SCHEDULER_QUEUE_URL', 'CONDUCTOR_QUEUE_URL', 'IMAGE_BUCKET', 'TOKEN_KEY_PARAMETER', 'NODE_OPTIONS']),
      );
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('let the conductor create the per-host queues', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resource[];
    const hostQueueStatements = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((s) => JSON.stringify(s.Resource).includes(`:${hostQueue.namePrefix}*`));
    const creators = hostQueueStatements.filter((s) => actionsOf(s).includes('sqs:CreateQueue'));
    expect(creators).toHaveLength(1);
    expect(actionsOf(creators[0]!)).toEqual(expect.arrayContaining(['sqs:GetQueueUrl', 'sqs:SetQueueAttributes', 'sqs:SendMessage']));
  });
});

describe('image bucket', () => {
  it('is encrypted, private, unversioned and cleans up abandoned uploads', () => {
    const [, bucket] = only('AWS::S3::Bucket');
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [{ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }] },
    });
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
  });

  it('refuses requests that are not over TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('image data', () => {
  it('notifies the image-data function of objects put under images/', () => {
    const [fnId] = only('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('image data') });
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          Match.objectLike({
            Events: ['s3:ObjectCreated:Put'],
            LambdaFunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] },
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'images/' }] } },
          }),
        ],
      },
    });
  });
});

describe('public API', () => {
  it('is a REST API passing binary bodies, proxying every path to the api function', () => {
    const [apiId] = only('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'] });
    template.resourceCountIs('AWS::ApiGateway::Method', 2);
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{proxy+}', RestApiId: { Ref: apiId } });
    template.allResourcesProperties('AWS::ApiGateway::Method', { HttpMethod: 'ANY', Integration: Match.objectLike({ Type: 'AWS_PROXY' }) });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod' });
    template.hasOutput('OsAuthUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['/identity/v3'])] } });
  });
});

describe('sweeper', () => {
  it('runs every minute', () => {
    const [, sweeper] = only('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'novaless-sweeper' }) } });
    const [, rule] = only('AWS::Events::Rule');
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(sweeper.Properties.Timeout).toBeLessThan(60);
  });
});

describe('deploy-time resources', () => {
  it('creates the token key and admin password as SecureString parameters, then runs the bootstrap', () => {
    const parameters = Object.values(template.findResources('Custom::NovalessSecureParameter')) as Resource[];
    expect(parameters.map((p) => p.Properties.ParameterName).sort()).toEqual(['/novaless/admin-password', '/novaless/token-signing-key']);
    const [, bootstrap] = only('Custom::NovalessBootstrap');
    expect(bootstrap.Properties.AdminPasswordParameter).toBe('/novaless/admin-password');
    expect(bootstrap.Properties.CodeVersion).toMatch(/^[0-9a-f]{64}\.zip$/);
  });
});

describe('host agent policy', () => {
  const statements = (): Statement[] => {
    const [, policy] = only('AWS::IAM::ManagedPolicy');
    return policy.Properties.PolicyDocument.Statement as Statement[];
  };

  it('grants no DynamoDB action at all', () => {
    const actions = statements().flatMap(actionsOf);
    expect(actions.filter((a) => a.toLowerCase().startsWith('dynamodb:'))).toEqual([]);
  });

  it('reaches only the queue named by the principal tag, the conductor queue and image objects', () => {
    const allows = statements().filter((s) => s.Effect === 'Allow');
    const ownQueue = allows.find((s) => actionsOf(s).includes('sqs:ReceiveMessage'))!;
    expect(JSON.stringify(ownQueue.Resource)).toContain(`:${hostQueue.namePrefix}\${aws:PrincipalTag/${hostPrincipalTag}}`);
    expect(actionsOf(ownQueue).sort()).toEqual(
      ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
    );

    const [conductorId] = only('AWS::SQS::Queue', { QueueName: conductorQueue.name });
    const send = allows.find((s) => actionsOf(s).includes('sqs:SendMessage'))!;
    expect(send.Resource).toEqual({ 'Fn::GetAtt': [conductorId, 'Arn'] });

    const reads = allows.find((s) => actionsOf(s).some((a) => a.startsWith('s3:')))!;
    expect(actionsOf(reads)).toEqual(['s3:GetObject']);
    expect(JSON.stringify(reads.Resource)).toContain('/images/*');

    expect(allows.flatMap(actionsOf).some((a) => a.endsWith('*'))).toBe(false);
    expect(allows.some((s) => s.Resource === '*')).toBe(false);
  });
});
