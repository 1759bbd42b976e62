import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import { objects, queues } from '../shared/aws.js';
import { HostInventorySchema, type HostInventory } from '../shared/domain/host.js';
import { logger } from '../shared/logger.js';
import { hostQueue } from '../shared/resources.js';
import { dispatchCommand } from './commands/dispatch.js';
import { KeyedLock, Semaphore } from './concurrency.js';
import { startConsolePublisher } from './console-publisher.js';
import type { AgentConfig } from './config.js';
import type { ComputeDriver, DriverInventory, KnownGuest } from './drivers/driver.js';
import { createDriver } from './drivers/index.js';
import { startHeartbeat } from './heartbeat.js';
import { LocalState, type GuestRecord } from './local-state.js';
import { QueueLoop } from './queue-loop.js';
import { registerAndWaitForQueue } from './registration.js';
import { Reporter, SqsReportSink, type ReportSink } from './reports.js';

export const agentLogger = logger.createChild({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'novaless-host-agent' });

/** How often changed console logs are published for os-getConsoleOutput. */
const CONSOLE_PUBLISH_INTERVAL_MS = 3000;

/** Beyond the build slots, room for commands that are not builds (a destroy is not stuck behind builds). */
const NON_BUILD_SLOTS = 10;

export interface AgentOverrides {
  sqs?: SQSClient;
  s3?: S3Client;
  sink?: ReportSink;
  driver?: ComputeDriver;
  log?: Logger;
  /** Long-poll wait (20 s by default); a stop waits for the current poll. */
  waitTimeSeconds?: number;
}

/**
 * The agent's life: load what it remembers, let the driver re-attach to its guests, register,
 * wait for its queue, then heartbeat and run commands until the signal aborts. Returns after
 * the commands in progress finished.
 */
export async function runAgent(config: AgentConfig, signal: AbortSignal, overrides: AgentOverrides = {}): Promise<void> {
  const log = (overrides.log ?? agentLogger).createChild({ persistentKeys: { host: config.host } });
  const state = await LocalState.open(config.state_dir);
  const driver = overrides.driver ?? (await createDriver(config, log));
  await driver.init(state.guests().map(knownGuestOf));
  log.info('host agent starting', { driver: driver.name, state_dir: config.state_dir, known_guests: state.guests().length });

  const inventory = inventoryOf(config, await driver.getInventory());
  const reporter = new Reporter(overrides.sink ?? new SqsReportSink(config.conductor_queue_url), config.host);
  const sqs = overrides.sqs ?? queues();

  const queueUrl = await registerAndWaitForQueue({ sqs, reporter, inventory, log, signal });
  if (!queueUrl) {
    log.info('host agent stopped before its queue was ready');
    return;
  }

  const heartbeat = startHeartbeat({ driver, state, reporter, log, intervalMs: config.heartbeat_interval_seconds * 1000 });
  const consoles = config.image_bucket
    ? startConsolePublisher({ driver, state, s3: overrides.s3 ?? objects(), bucket: config.image_bucket, log, intervalMs: CONSOLE_PUBLISH_INTERVAL_MS })
    : undefined;
  if (!consoles) log.warn('no image_bucket configured: console logs are not published (os-getConsoleOutput answers 404)');
  const shared = { driver, state, reporter, builds: new Semaphore(config.max_parallel_builds), guestLocks: new KeyedLock() };
  const loop = new QueueLoop({
    sqs,
    queueUrl,
    log,
    handle: (command, commandLog) => dispatchCommand(command, { ...shared, log: commandLog }),
    maxInFlight: config.max_parallel_builds + NON_BUILD_SLOTS,
    visibilityTimeoutSeconds: hostQueue.visibilityTimeoutSeconds,
    waitTimeSeconds: overrides.waitTimeSeconds,
  });
  await loop.run(signal);
  await heartbeat.stop();
  await consoles?.stop();
  await state.flushed();
  log.info('host agent stopped');
}

export function inventoryOf(config: AgentConfig, offered: DriverInventory): HostInventory {
  return HostInventorySchema.parse({
    ...offered,
    host: config.host,
    availability_zone: config.availability_zone,
    host_ip: config.host_ip,
    cpu_allocation_ratio: config.allocation_ratios.cpu,
    ram_allocation_ratio: config.allocation_ratios.ram,
    disk_allocation_ratio: config.allocation_ratios.disk,
  });
}

function knownGuestOf(record: GuestRecord): KnownGuest {
  return { instance_id: record.instance_id, spec: record.spec, power_state: record.power_state, built: record.phase !== 'building' };
}
