import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from '../../shared/logger.js';
import { ConductorMessageSchema, type ConductorMessage } from '../../shared/messages/conductor.js';
import { parseMessage } from '../../shared/messages/parse.js';
import { recordActivity } from '../../shared/store/service-activity.js';
import { onActionDone } from './reports/action-done.js';
import { onActionFailed } from './reports/action-failed.js';
import { onConsoleClosed, onConsoleOpened } from './reports/console-session.js';
import { onDestroyed } from './reports/destroyed.js';
import { onHeartbeat } from './reports/heartbeat.js';
import { onMigrationReport } from './reports/migration.js';
import { onNetworkResync, onNetworkSyncRequest } from './reports/network-sync-request.js';
import { onPortsPlugged } from './reports/ports-plugged.js';
import { onRegister } from './reports/register.js';
import { onSpawnFailed } from './reports/spawn-failed.js';
import { onSpawned } from './reports/spawned.js';

type Handlers = { [T in ConductorMessage['type']]: (report: Extract<ConductorMessage, { type: T }>) => Promise<void> };

const handlers: Handlers = {
  register: onRegister,
  heartbeat: onHeartbeat,
  spawned: onSpawned,
  spawn_failed: onSpawnFailed,
  destroyed: onDestroyed,
  action_done: onActionDone,
  action_failed: onActionFailed,
  ports_plugged: onPortsPlugged,
  network_sync_request: onNetworkSyncRequest,
  network_resync: onNetworkResync,
  console_opened: onConsoleOpened,
  console_closed: onConsoleClosed,
  migration: onMigrationReport,
};

async function onRecord(record: SQSRecord): Promise<void> {
  const report = parseMessage(ConductorMessageSchema, record.body);
  if (!report) return logger.error('dropping invalid conductor message', { body: record.body });
  logger.appendKeys({ request_id: report.request_id, host: 'host' in report ? report.host : undefined, instance_id: 'instance_id' in report ? report.instance_id : undefined });
  try {
    await (handlers[report.type] as (r: ConductorMessage) => Promise<void>)(report);
    await recordActivity('nova-conductor');
  } finally {
    logger.removeKeys(['request_id', 'host', 'instance_id']);
  }
}

/** Lambda entry point: SQS batch of host reports; failed records are reported back for retry. */
export const handler = (event: SQSEvent, context: Context) =>
  // A processor per invocation: its state (records, failures) must not be shared by invocations
  // that run at the same time in one process, as the local runtime's pollers do.
  processPartialResponse(event, onRecord, new BatchProcessor(EventType.SQS), { context, processInParallel: true });
