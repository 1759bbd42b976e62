import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from '../../infra/local/lambda-context.js';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** One SQS record as Lambda's event source mapping hands it over, with a fresh message id. */
export function sqsRecord(body: unknown, queue = 'test-queue'): SQSRecord {
  const messageId = randomUUID();
  const now = String(Date.now());
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: 'test', ApproximateFirstReceiveTimestamp: now },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queue}`,
    awsRegion: 'us-east-1',
  };
}

export const sqsEvent = (bodies: unknown[]): SQSEvent => ({ Records: bodies.map((b) => sqsRecord(b)) });

/** Delivers the bodies to a handler as one batch; rejects when any record failed (so a test sees it). */
export async function deliver(handler: SqsHandler, ...bodies: unknown[]): Promise<void> {
  const event = sqsEvent(bodies);
  const res = await handler(event, lambdaContext('test'));
  if (res?.batchItemFailures?.length) throw new Error(`handler failed ${res.batchItemFailures.length} of ${bodies.length} record(s)`);
}

/**
 * Invokes a handler with one batch and says which records it failed, as the event source mapping
 * sees it: the batchItemFailures, or every record when the handler throws (the whole batch returns).
 */
export async function invoke(handler: SqsHandler, bodies: unknown[]): Promise<{ ids: string[]; failed: string[] }> {
  const event = sqsEvent(bodies);
  const ids = event.Records.map((r) => r.messageId);
  try {
    const res = await handler(event, lambdaContext('test'));
    return { ids, failed: (res?.batchItemFailures ?? []).map((f) => f.itemIdentifier) };
  } catch {
    return { ids, failed: ids };
  }
}
