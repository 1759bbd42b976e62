import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { z } from 'zod';
import { queues } from '../aws.js';

/** Validates a message against its contract and sends it, delivered after `delaySeconds` when given; the contract is checked on both ends. */
export async function sendMessage<S extends z.ZodType>(queueUrl: string, schema: S, message: z.input<S>, delaySeconds?: number): Promise<void> {
  const body = schema.parse(message);
  await queues().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body), DelaySeconds: delaySeconds }));
}
