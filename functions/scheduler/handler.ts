import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from '../../shared/logger.js';
import { parseMessage } from '../../shared/messages/parse.js';
import { SchedulerMessageSchema } from '../../shared/messages/scheduler.js';
import { recordActivity } from '../../shared/store/service-activity.js';
import { scheduleInstance } from './schedule-instance.js';
import { scheduleMove } from './schedule-move.js';

async function onRecord(record: SQSRecord): Promise<void> {
  const msg = parseMessage(SchedulerMessageSchema, record.body);
  // A malformed message never becomes valid: log it and let it go rather than retry it.
  if (!msg) return logger.error('dropping invalid scheduler message', { body: record.body });
  logger.appendKeys({ request_id: msg.request_id, instance_id: msg.instance_id });
  try {
    await (msg.type === 'move' ? scheduleMove(msg) : scheduleInstance(msg));
    await recordActivity('nova-scheduler');
  } finally {
    logger.removeKeys(['request_id', 'instance_id']);
  }
}

/** Lambda entry point: SQS batch from the scheduler queue; failed records are reported back for retry. */
export const handler = (event: SQSEvent, context: Context) =>
  // A processor per invocation: its state (records, failures) must not be shared by invocations
  // that run at the same time in one process, as the local runtime's pollers do.
  processPartialResponse(event, onRecord, new BatchProcessor(EventType.SQS), { context, processInParallel: true });
