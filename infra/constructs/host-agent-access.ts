import { Stack } from 'aws-cdk-lib';
import { Effect, Group, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { consoleObjectPrefix, hostPrincipalTag, hostQueue, imageObjectPrefix } from '../../shared/resources.js';

export interface HostAgentAccessProps {
  conductorQueue: IQueue;
  hostDeadLetterQueue: IQueue;
  imageBucket: IBucket;
}

/**
 * What a host agent may do, and nothing more: read its own host queue, report to the
 * conductor, read images. No DynamoDB at all: a compromised host cannot rewrite the cloud's
 * state. Which queue is "its own" comes from the principal tag `novaless-host` (on the IAM user,
 * the role, or the session), whose value is the host's queue name without the prefix.
 */
export class HostAgentAccess extends Construct {
  readonly policy: ManagedPolicy;
  readonly group: Group;

  constructor(scope: Construct, id: string, props: HostAgentAccessProps) {
    super(scope, id);
    const tagKey = `aws:PrincipalTag/${hostPrincipalTag}`;
    const ownQueueArn = Stack.of(this).formatArn({ service: 'sqs', resource: `${hostQueue.namePrefix}\${${tagKey}}` });

    this.policy = new ManagedPolicy(this, 'Policy', {
      description: 'novaless host agent: its own host queue, the conductor queue, image reads',
      statements: [
        new PolicyStatement({
          sid: 'ConsumeOwnHostQueue',
          actions: [
            'sqs:ReceiveMessage',
            'sqs:DeleteMessage',
            'sqs:ChangeMessageVisibility',
            'sqs:GetQueueUrl',
            'sqs:GetQueueAttributes',
          ],
          resources: [ownQueueArn],
          conditions: { Null: { [tagKey]: 'false' } },
        }),
        // The shared host dead-letter queue shares the host queues' prefix: a host named "dlq"
        // must not read every host's dead letters.
        new PolicyStatement({
          sid: 'NotTheHostDeadLetterQueue',
          effect: Effect.DENY,
          actions: ['sqs:*'],
          resources: [props.hostDeadLetterQueue.queueArn],
        }),
        new PolicyStatement({
          sid: 'ReportToConductor',
          actions: ['sqs:SendMessage', 'sqs:GetQueueUrl'],
          resources: [props.conductorQueue.queueArn],
        }),
        new PolicyStatement({
          sid: 'ReadImages',
          actions: ['s3:GetObject'],
          resources: [props.imageBucket.arnForObjects(`${imageObjectPrefix}*`)],
        }),
        // Console logs for os-getConsoleOutput: put only, nothing else in the bucket. Any host can
        // overwrite any guest's log (the key is not tied to the host): the price of not having a
        // per-host prefix; the log is only ever shown, never trusted.
        new PolicyStatement({
          sid: 'PublishConsoleLogs',
          actions: ['s3:PutObject'],
          resources: [props.imageBucket.arnForObjects(`${consoleObjectPrefix}*`)],
        }),
      ],
    });
    // For hosts that authenticate as IAM users (tagged `novaless-host`); roles (IAM Roles
    // Anywhere, instance profiles) attach the same managed policy.
    this.group = new Group(this, 'Group', { groupName: 'NovalessHostAgents', managedPolicies: [this.policy] });
  }
}
