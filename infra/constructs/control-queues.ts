import { Duration, Stack } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  conductorQueue,
  deadLetterQueueName,
  hostQueue,
  schedulerQueue,
  type QueueDefinition,
} from '../../shared/resources.js';

/** Dead letters are kept for the longest SQS allows, so an operator can still look at them. */
const deadLetterRetention = Duration.days(14);

/**
 * The queues that replace RabbitMQ: the scheduler and conductor queues, each with its
 * dead-letter queue, and the dead-letter queue shared by the per-host queues (those are
 * created by the conductor when a host registers).
 */
export class ControlQueues extends Construct {
  readonly scheduler: Queue;
  readonly conductor: Queue;
  readonly hostDeadLetter: Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.scheduler = this.queueWithDeadLetter('Scheduler', schedulerQueue);
    this.conductor = this.queueWithDeadLetter('Conductor', conductorQueue);
    this.hostDeadLetter = new Queue(this, 'HostDeadLetter', {
      queueName: hostQueue.deadLetterName,
      retentionPeriod: deadLetterRetention,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }

  /** Lets a function read the depth of the scheduler and conductor queues and their dead-letter queues (their service rows' state). */
  grantReadDepth(grantee: IGrantable): void {
    for (const queue of [this.scheduler, this.conductor]) {
      queue.grant(grantee, 'sqs:GetQueueAttributes');
      queue.deadLetterQueue?.queue.grant(grantee, 'sqs:GetQueueAttributes');
    }
  }

  /** The ARN pattern of every per-host queue (and of the shared host dead-letter queue). */
  hostQueuesArn(): string {
    return Stack.of(this).formatArn({ service: 'sqs', resource: `${hostQueue.namePrefix}*` });
  }

  private queueWithDeadLetter(id: string, definition: QueueDefinition): Queue {
    const deadLetter = new Queue(this, `${id}DeadLetter`, {
      queueName: deadLetterQueueName(definition.name),
      retentionPeriod: deadLetterRetention,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    return new Queue(this, id, {
      queueName: definition.name,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: deadLetter, maxReceiveCount: definition.maxReceiveCount },
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }
}
