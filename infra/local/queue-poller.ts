import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { queues } from '../../shared/aws.js';
import { logger } from '../../shared/logger.js';
import { lambdaContext } from './lambda-context.js';
import { queueArn } from './provision.js';

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

/**
 * What a Lambda SQS event source mapping does, for the local runtime: long-poll the queue, hand
 * batches of up to `batchSize` to the handler, delete what succeeded and leave the
 * `batchItemFailures` (or the whole batch, if the handler throws) to come back after the
 * visibility timeout and, past maxReceiveCount, go to the dead-letter queue.
 */
export class QueuePoller {
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly name: string,
    private readonly queueUrl: string,
    private readonly handler: SqsHandler,
    private readonly batchSize: number,
    /** Parallel pollers, like the concurrent invocations of an event source mapping. */
    private readonly concurrency = 2,
  ) {}

  async start(): Promise<void> {
    const arn = await queueArn(this.queueUrl);
    for (let i = 0; i < this.concurrency; i++) this.loops.push(this.loop(arn));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.loops);
  }

  private async loop(arn: string): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce(arn);
      } catch (err) {
        if (!this.running) return;
        logger.error('queue poll failed', { queue: this.name, error: err as Error });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async pollOnce(arn: string): Promise<void> {
    const out = await queues().send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: this.batchSize,
        // Short enough that Ctrl-C stops promptly; the patched emulator returns as soon as a message is there.
        WaitTimeSeconds: 2,
        // local-aws-sqs only reads the older AttributeNames.
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (!messages.length) return;
    const event: SQSEvent = {
      Records: messages.map((m) => ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body ?? '',
        attributes: m.Attributes as never,
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: arn,
        awsRegion: process.env.AWS_REGION ?? 'us-east-1',
      })),
    };
    let failed: Set<string>;
    try {
      const res = await this.handler(event, lambdaContext(this.name));
      failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      logger.error('handler failed the whole batch', { queue: this.name, error: err as Error });
      return;
    }
    const done = messages.filter((m) => !failed.has(m.MessageId!));
    if (done.length) {
      await queues().send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
  }
}
