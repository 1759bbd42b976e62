import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { NovalessStack } from '../../../infra/stack.js';
import {
  conductorQueue,
  consoleKeyParameter,
  consolePublicKeyParameter,
  deadLetterQueueName,
  edge,
  functionSettings,
  hostPrincipalTag,
  hostQueue,
  imageUploadPrefix,
  schedulerQueue,
  tableDefinition,
  tokenKeyParameter,
  type QueueDefinition,
} from '../../../shared/resources.js';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Principal?: unknown };

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
  it('run on the Node.js major the tests run on (the project\'s node_modules/.bin/node), CDK\'s own Node.js functions too', () => {
    const runtimes = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => (fn as Resource).Properties.Runtime as string);
    expect(new Set(runtimes.filter((r) => r.startsWith('nodejs')))).toEqual(new Set([`nodejs${process.versions.node.split('.')[0]}.x`]));
  });

  it('run Node.js 24 with the environment every handler reads', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: Match.stringLikeRegexp('^novaless-(api|scheduler|conductor|sweeper|bootstrap)$') } } },
    });
    expect(Object.keys(functions)).toHaveLength(5);
    for (const fn of Object.values(functions) as Resource[]) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
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
  it('notifies the image-data function of objects put under image-uploads/ (and of nothing else)', () => {
    const [fnId] = only('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('image data') });
    expect(imageUploadPrefix).toBe('image-uploads/');
    const [, notifications] = only('Custom::S3BucketNotifications');
    expect(notifications.Properties.NotificationConfiguration).toEqual({
      LambdaFunctionConfigurations: [
        {
          Events: ['s3:ObjectCreated:Put'],
          LambdaFunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] },
          Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'image-uploads/' }] } },
        },
      ],
    });
  });

  it('lets the image-data function read and delete uploads, and read and write images', () => {
    const [, fn] = only('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('image data') });
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resource[];
    const s3Statements = policies
      .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    const actionsOn = (prefix: string) =>
      s3Statements.filter((s) => JSON.stringify(s.Resource).includes(`/${prefix}*`)).flatMap(actionsOf);
    expect(actionsOn('image-uploads/')).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:DeleteObject*']));
    expect(actionsOn('image-uploads/')).not.toContain('s3:PutObject');
    expect(actionsOn('images/')).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:PutObject', 's3:DeleteObject*']));
  });
});

describe('public front', () => {
  const distribution = () => only('AWS::CloudFront::Distribution');
  const config = () => distribution()[1].Properties.DistributionConfig as Record<string, any>;
  // AWS managed policies: CachingDisabled and AllViewerExceptHostHeader.
  const cachingDisabled = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
  const allViewerExceptHost = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
  const allMethods = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'];

  it('has the API stage and the image bucket (through origin access control) as origins', () => {
    const [apiId] = only('AWS::ApiGateway::RestApi');
    const [bucketId] = only('AWS::S3::Bucket');
    const [oacId] = only('AWS::CloudFront::OriginAccessControl');
    const origins = config().Origins as Array<Record<string, any>>;
    expect(origins.map((o) => o.Id).sort()).toEqual([edge.apiOriginId, edge.storageOriginId].sort());
    expect(edge).toMatchObject({ apiOriginId: 'api', storageOriginId: 'image-storage' });

    const api = origins.find((o) => o.Id === edge.apiOriginId)!;
    expect(api.OriginPath).toBe('/prod');
    expect(api.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only' });
    // Built from the RestApi id, not from the stage URL (which would make a cycle through the api function).
    const domain = JSON.stringify(api.DomainName);
    expect(domain).toContain(JSON.stringify({ Ref: apiId }));
    expect(domain).toContain('.execute-api.');
    expect(domain).not.toContain('Stage');

    const storage = origins.find((o) => o.Id === edge.storageOriginId)!;
    expect(storage).toEqual({
      Id: edge.storageOriginId,
      DomainName: { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] },
      OriginAccessControlId: { 'Fn::GetAtt': [oacId, 'Id'] },
      S3OriginConfig: { OriginAccessIdentity: '' },
    });
  });

  it('signs every request to the bucket (origin access control of type s3, signing always)', () => {
    const [, oac] = only('AWS::CloudFront::OriginAccessControl');
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
  });

  it('sends everything to the API by default: all methods, nothing cached, HTTPS only', () => {
    expect(config().DefaultCacheBehavior).toMatchObject({
      TargetOriginId: edge.apiOriginId,
      AllowedMethods: allMethods,
      CachePolicyId: cachingDisabled,
      OriginRequestPolicyId: allViewerExceptHost,
      ViewerProtocolPolicy: 'https-only',
    });
    expect(config().DefaultCacheBehavior.FunctionAssociations).toBeUndefined();
  });

  it('never caches error answers', () => {
    const errors = config().CustomErrorResponses as Array<Record<string, unknown>>;
    expect(errors.map((e) => e.ErrorCode)).toEqual([400, 403, 404, 405, 414, 500, 501, 502, 503, 504]);
    for (const e of errors) expect(e).toEqual({ ErrorCode: e.ErrorCode, ErrorCachingMinTTL: 0 });
  });

  it('runs the upload router (JS 2.0, with the key value store) on viewer requests for image data', () => {
    const [fnId, fn] = only('AWS::CloudFront::Function');
    const [kvsId] = only('AWS::CloudFront::KeyValueStore');
    const behaviors = config().CacheBehaviors as Array<Record<string, any>>;
    expect(behaviors).toHaveLength(1);
    expect(behaviors[0]).toEqual({
      PathPattern: edge.imageDataPathPattern,
      TargetOriginId: edge.apiOriginId,
      AllowedMethods: allMethods,
      CachePolicyId: cachingDisabled,
      OriginRequestPolicyId: allViewerExceptHost,
      ViewerProtocolPolicy: 'https-only',
      Compress: true,
      FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } }],
    });
    expect(fn.Properties).toMatchObject({
      AutoPublish: true,
      FunctionConfig: { Runtime: 'cloudfront-js-2.0', KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': [kvsId, 'Arn'] } }] },
    });
    expect(fn.Properties.FunctionCode).toBe(readFileSync(new URL(`../../../${edge.functionFile}`, import.meta.url), 'utf8'));
  });

  it('lets no behavior reach the bucket: only the router selects it', () => {
    const targets = [config().DefaultCacheBehavior, ...(config().CacheBehaviors as object[])].map((b: any) => b.TargetOriginId);
    expect(new Set(targets)).toEqual(new Set([edge.apiOriginId]));
  });

  it('lets the distribution put objects under image-uploads/ and nothing else in the bucket', () => {
    const [distributionId] = distribution();
    const [bucketId] = only('AWS::S3::Bucket');
    const [, policy] = only('AWS::S3::BucketPolicy');
    const allows = (policy.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    const [put] = allows as [Statement];
    expect(put.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(put.Action).toBe('s3:PutObject');
    expect(put.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/image-uploads/*']] });
    const condition = put.Condition as { StringEquals: Record<string, unknown> };
    expect(Object.keys(condition)).toEqual(['StringEquals']);
    expect(Object.keys(condition.StringEquals)).toEqual(['AWS:SourceArn']);
    const sourceArn = JSON.stringify(condition.StringEquals['AWS:SourceArn']);
    expect(sourceArn).toContain(':cloudfront::');
    expect(sourceArn).toContain(`:distribution/",${JSON.stringify({ Ref: distributionId })}`);
  });

  it('is the endpoint the API puts in its catalog, the bootstrap gets, and the outputs show', () => {
    const [distributionId] = distribution();
    const url = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] };
    const [, api] = only('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'novaless-api' }) } });
    expect(api.Properties.Environment.Variables.PUBLIC_ENDPOINT).toEqual(url);
    const [, bootstrap] = only('Custom::NovalessBootstrap');
    expect(bootstrap.Properties.PublicEndpoint).toEqual(url);

    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ApiEndpoint!.Value).toEqual(url);
    expect(outputs.OsAuthUrl!.Value).toEqual({
      'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/identity/v3']],
    });
    const [stageId] = only('AWS::ApiGateway::Stage');
    expect(JSON.stringify(outputs.ApiGatewayStageUrl!.Value)).toContain(JSON.stringify({ Ref: stageId }));
  });
});

describe('edge key store', () => {
  it('gets the token key copied from SSM once the parameter exists, before the distribution is deployed', () => {
    const [kvsId] = only('AWS::CloudFront::KeyValueStore');
    const [tokenKeyId] = only('Custom::NovalessSecureParameter', { ParameterName: tokenKeyParameter });
    const [copyId, copy] = only('Custom::NovalessKeyValueStoreParameter');
    expect(copy.Properties).toMatchObject({
      ParameterName: tokenKeyParameter,
      KeyValueStoreArn: { 'Fn::GetAtt': [kvsId, 'Arn'] },
      Key: edge.tokenKeyName,
    });
    expect((template.toJSON().Resources[copyId] as { DependsOn?: string[] }).DependsOn).toContain(tokenKeyId);
    const [distributionId] = only('AWS::CloudFront::Distribution');
    expect((template.toJSON().Resources[distributionId] as { DependsOn?: string[] }).DependsOn).toContain(copyId);
  });

  it('lets the copier read the one parameter and write the one store, nothing more', () => {
    const [kvsId] = only('AWS::CloudFront::KeyValueStore');
    const [, copier] = only('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('KeyValueStore') });
    const roleId = (copier.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const [, policy] = only('AWS::IAM::Policy', { Roles: [{ Ref: roleId }] });
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: `arn:aws:ssm:eu-west-1:123456789012:parameter${tokenKeyParameter}`,
      },
      {
        Effect: 'Allow',
        Action: ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:PutKey'],
        Resource: { 'Fn::GetAtt': [kvsId, 'Arn'] },
      },
    ]);
  });
});

describe('public API', () => {
  it('is a REST API passing binary bodies, proxying every path to the api function', () => {
    const [apiId] = only('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'] });
    template.resourceCountIs('AWS::ApiGateway::Method', 2);
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{proxy+}', RestApiId: { Ref: apiId } });
    template.allResourcesProperties('AWS::ApiGateway::Method', { HttpMethod: 'ANY', Integration: Match.objectLike({ Type: 'AWS_PROXY' }) });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod' });
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

describe('console keys', () => {
  it('makes the key pair at deploy time; the API reads only the signing key, named by CONSOLE_KEY_PARAMETER, after it exists', () => {
    const [pairId, pair] = only('Custom::NovalessConsoleKeyPair');
    expect(pair.Properties).toMatchObject({ PrivateKeyParameterName: consoleKeyParameter, PublicKeyParameterName: consolePublicKeyParameter });
    const [apiId, api] = only('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('^novaless API') });
    expect(api.Properties.Environment.Variables.CONSOLE_KEY_PARAMETER).toBe(consoleKeyParameter);
    expect(JSON.stringify(template.toJSON().Resources[apiId].DependsOn)).toContain(pairId);
    const apiRole = (api.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resource[];
    const reads = policies
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(apiRole))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((s) => actionsOf(s).includes('ssm:GetParameter'));
    expect(JSON.stringify(reads)).toContain(`parameter${consoleKeyParameter}`);
    expect(JSON.stringify(reads)).not.toContain(consolePublicKeyParameter);
    expect(template.toJSON().Outputs.ConsolePublicKeyParameter.Value).toBe(consolePublicKeyParameter);
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
