import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventType } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import {
  adminPasswordParameter,
  conductorQueue,
  consoleKeyParameter,
  consoleObjectPrefix,
  consolePublicKeyParameter,
  functionSettings,
  imageObjectPrefix,
  imageUploadPrefix,
  PREFIX,
  schedulerQueue,
  sweeper,
  tokenKeyParameter,
} from '../shared/resources.js';
import { Bootstrap } from './constructs/bootstrap.js';
import { ConsoleKeyPair } from './constructs/console-key-pair.js';
import { ControlQueues } from './constructs/control-queues.js';
import { EdgeKeyStore } from './constructs/edge-key-store.js';
import { GeneratedSecureParameters } from './constructs/generated-secure-parameters.js';
import { HostAgentAccess } from './constructs/host-agent-access.js';
import { ImageBucket } from './constructs/image-bucket.js';
import { controlFunctionEntry, nodeFunction } from './constructs/node-function.js';
import { apiStageName, PublicApi } from './constructs/public-api.js';
import { PublicFront } from './constructs/public-front.js';
import { StateTable } from './constructs/state-table.js';

type ControlFunctionName = keyof typeof functionSettings;

/**
 * The whole cloud's control plane: the API behind API Gateway and a CloudFront front (which
 * sends image data uploads straight to the image bucket), the scheduler and conductor on their
 * queues, the sweeper on a schedule, the state table, the image bucket, the host agents' IAM
 * policy, and a bootstrap run at deploy time.
 */
export class NovalessStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const { table } = new StateTable(this, 'State');
    const queues = new ControlQueues(this, 'Queues');
    const { bucket } = new ImageBucket(this, 'Images');
    const secrets = new GeneratedSecureParameters(this, 'Secrets', [
      { id: 'TokenKey', name: tokenKeyParameter, description: 'novaless token signing key', length: 64 },
      { id: 'AdminPassword', name: adminPasswordParameter, description: 'novaless admin password', length: 32 },
    ]);

    const consoleKeys = new ConsoleKeyPair(this, 'ConsoleKeys', {
      privateKeyParameterName: consoleKeyParameter,
      publicKeyParameterName: consolePublicKeyParameter,
    });

    const hostQueuesArn = queues.hostQueuesArn();
    const environment = {
      TABLE_NAME: table.tableName,
      SCHEDULER_QUEUE_URL: queues.scheduler.queueUrl,
      CONDUCTOR_QUEUE_URL: queues.conductor.queueUrl,
      IMAGE_BUCKET: bucket.bucketName,
      TOKEN_KEY_PARAMETER: tokenKeyParameter,
    };
    const controlFunction = (name: ControlFunctionName, description: string): NodejsFunction => {
      const id = name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
      const fn = nodeFunction(this, `${id}Function`, {
        entry: controlFunctionEntry(name),
        description,
        settings: functionSettings[name],
        environment: { ...environment, POWERTOOLS_SERVICE_NAME: `${PREFIX}-${name}` },
      });
      table.grantReadWriteData(fn);
      return fn;
    };
    // The functions that pass work along: to the scheduler, the conductor, or a host.
    const grantSendToQueues = (fn: NodejsFunction): void => {
      queues.scheduler.grantSendMessages(fn);
      queues.conductor.grantSendMessages(fn);
      fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage', 'sqs:GetQueueUrl'], resources: [hostQueuesArn] }));
    };

    const api = controlFunction('api', 'novaless API: Identity v3, Compute v2.1, Image v2, Network v2.0');
    grantSendToQueues(api);
    // os-services shows nova-scheduler and nova-conductor with a state read from their queues.
    queues.grantReadDepth(api);
    bucket.grantReadWrite(api, `${imageObjectPrefix}*`);
    // os-getConsoleOutput reads the console logs host agents publish.
    bucket.grantRead(api, `${consoleObjectPrefix}*`);
    secrets.grantRead(tokenKeyParameter, api);
    api.node.addDependency(secrets.creatorOf(tokenKeyParameter));
    // Console tokens: the API alone signs them (hosts get the public key from the plain parameter).
    api.addEnvironment('CONSOLE_KEY_PARAMETER', consoleKeyParameter);
    consoleKeys.grantSign(api);
    api.node.addDependency(consoleKeys.resource);
    const publicApi = new PublicApi(this, 'PublicApi', { handler: api });

    const edgeKeys = new EdgeKeyStore(this, 'EdgeKeys', {
      tokenKeyParameterName: tokenKeyParameter,
      tokenKeyParameterCreator: secrets.creatorOf(tokenKeyParameter),
    });
    const front = new PublicFront(this, 'PublicFront', {
      restApi: publicApi.api,
      stageName: apiStageName,
      imageBucket: bucket,
      keyValueStore: edgeKeys.store,
    });
    // Without the key in the store, every upload through the front would fail its token check.
    front.distribution.node.addDependency(edgeKeys.tokenKey);
    // The Keystone catalog the API hands out points clients at the front, not at API Gateway.
    api.addEnvironment('PUBLIC_ENDPOINT', front.url);

    const scheduler = controlFunction('scheduler', 'novaless scheduler: filters, weighs and claims a host');
    grantSendToQueues(scheduler);
    scheduler.addEventSource(
      new SqsEventSource(queues.scheduler, { batchSize: schedulerQueue.batchSize, reportBatchItemFailures: true }),
    );

    const conductor = controlFunction('conductor', 'novaless conductor: applies what the hosts report');
    grantSendToQueues(conductor);
    // Hosts register through the conductor, which creates (and on service delete removes) their queues.
    conductor.addToRolePolicy(
      new PolicyStatement({
        actions: ['sqs:CreateQueue', 'sqs:SetQueueAttributes', 'sqs:GetQueueAttributes', 'sqs:TagQueue', 'sqs:DeleteQueue'],
        resources: [hostQueuesArn],
      }),
    );
    // Completes (or aborts) the snapshot uploads hosts fill, and removes deleted guests' console logs.
    bucket.grantReadWrite(conductor, `${imageObjectPrefix}*`);
    bucket.grantDelete(conductor, `${consoleObjectPrefix}*`);
    conductor.addEventSource(
      new SqsEventSource(queues.conductor, { batchSize: conductorQueue.batchSize, reportBatchItemFailures: true }),
    );

    const sweeperFunction = controlFunction('sweeper', 'novaless sweeper: ends task states past their deadline');
    grantSendToQueues(sweeperFunction);
    // A failed sweep is simply redone by the next scheduled run.
    sweeperFunction.configureAsyncInvoke({ retryAttempts: 0 });
    new Rule(this, 'SweeperSchedule', {
      description: 'Runs the novaless sweeper',
      // EventBridge schedules go down to one minute; the local runtime runs the sweeper every
      // sweeper.intervalSeconds (30 s). Deadlines are minutes long, so either is timely.
      schedule: Schedule.rate(Duration.minutes(Math.max(1, Math.ceil(sweeper.intervalSeconds / 60)))),
      targets: [new LambdaFunction(sweeperFunction, { retryAttempts: 0 })],
    });

    // Image data the front put under image-uploads/ is checked against its image and hashed here,
    // then copied to images/<id>; refused data is deleted.
    const imageData = controlFunction('image-data', 'novaless image data: hashes and checks uploaded image data');
    bucket.grantRead(imageData, `${imageUploadPrefix}*`);
    bucket.grantDelete(imageData, `${imageUploadPrefix}*`);
    bucket.grantReadWrite(imageData, `${imageObjectPrefix}*`);
    bucket.addEventNotification(EventType.OBJECT_CREATED_PUT, new LambdaDestination(imageData), { prefix: imageUploadPrefix });

    const bootstrapFunction = controlFunction('bootstrap', 'novaless bootstrap: admin user, project, roles, default flavors');
    bootstrapFunction.addEnvironment('ADMIN_PASSWORD_PARAMETER', adminPasswordParameter);
    secrets.grantRead(adminPasswordParameter, bootstrapFunction);
    const bootstrap = new Bootstrap(this, 'Bootstrap', {
      handler: bootstrapFunction,
      properties: { PublicEndpoint: front.url, AdminPasswordParameter: adminPasswordParameter },
    });
    bootstrap.resource.node.addDependency(secrets.creatorOf(adminPasswordParameter));

    const hostAgents = new HostAgentAccess(this, 'HostAgents', {
      conductorQueue: queues.conductor,
      hostDeadLetterQueue: queues.hostDeadLetter,
      imageBucket: bucket,
    });

    new CfnOutput(this, 'ApiEndpoint', { value: front.url, description: 'Public endpoint (CloudFront)' });
    new CfnOutput(this, 'OsAuthUrl', { value: `${front.url}/identity/v3`, description: 'OS_AUTH_URL for the openstack CLI' });
    new CfnOutput(this, 'ApiGatewayStageUrl', {
      value: publicApi.url,
      description: 'The API Gateway stage behind the front (no image data uploads over 10 MB)',
    });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'SchedulerQueueUrl', { value: queues.scheduler.queueUrl });
    new CfnOutput(this, 'ConductorQueueUrl', { value: queues.conductor.queueUrl });
    new CfnOutput(this, 'HostDeadLetterQueueUrl', { value: queues.hostDeadLetter.queueUrl });
    new CfnOutput(this, 'ImageBucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'HostAgentPolicyArn', { value: hostAgents.policy.managedPolicyArn });
    new CfnOutput(this, 'HostAgentGroupName', { value: hostAgents.group.groupName });
    new CfnOutput(this, 'ConsolePublicKeyParameter', {
      value: consolePublicKeyParameter,
      description: 'host-agent install --console-public-key "$(aws ssm get-parameter --name <this> --query Parameter.Value --output text)"',
    });
    new CfnOutput(this, 'AdminPasswordParameter', {
      value: adminPasswordParameter,
      description: 'aws ssm get-parameter --with-decryption --name <this> gives the admin password',
    });
  }
}
