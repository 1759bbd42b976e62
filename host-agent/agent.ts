import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import { guestNetworking } from './network/prerequisites.js';
import { join } from 'node:path';
import { objects, queues } from '../shared/aws.js';
import { HostInventorySchema, type HostInventory } from '../shared/domain/host.js';
import { logger } from '../shared/logger.js';
import type { HostCommand } from '../shared/messages/host.js';
import { dispatchCommand } from './commands/dispatch.js';
import { NetworkPlans } from './commands/network-plan.js';
import { KeyedLock, Semaphore } from './concurrency.js';
import { startConsoleProxy } from './console/console-proxy.js';
import { startConsolePublisher } from './console-publisher.js';
import type { AgentConfig } from './config.js';
import type { ComputeDriver, DriverInventory, KnownGuest } from './drivers/driver.js';
import { createDriver } from './drivers/index.js';
import { startHeartbeat } from './heartbeat.js';
import { LocalState, type GuestRecord } from './local-state.js';
import { metadataSocketPath } from './metadata/metadata-proxy.js';
import { startMetadataServer } from './metadata/metadata-server.js';
import { QueueLoop } from './queue-loop.js';
import { registerAndWaitForQueue, requestNetworkPlan } from './registration.js';
import { Reporter, SqsReportSink, type ReportSink } from './reports.js';

export const agentLogger = logger.createChild({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'novaless-host-agent' });

/** How often changed console logs are published for os-getConsoleOutput. */
const CONSOLE_PUBLISH_INTERVAL_MS = 3000;

/**
 * How long a received command stays hidden, below the host queue's own default (120 s,
 * hostQueue in shared/resources.ts): the loop keeps a running command hidden itself, so this is
 * only how long a command waits once the agent that received it died, including one handed to
 * the long poll a killed agent left open (SQS does not notice the closed connection). Commands
 * sent just after an agent crash run within half a minute, not two.
 */
const COMMAND_VISIBILITY_TIMEOUT_SECONDS = 30;

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
  const reporter = new Reporter(overrides.sink ?? new SqsReportSink(config.conductor_queue_url), config.host);
  // The guests' network first: a restarted agent (or a rebooted host) gets it back before anything else.
  const networkPlans = new NetworkPlans({ config, reporter, applyToKernel: driver.name === 'qemu' && guestNetworking().ok });
  // Nova's metadata service, reached through the proxies the data plane runs in its DHCP namespaces.
  const metadata =
    driver.name === 'qemu'
      ? await startMetadataServer({
          socketPath: metadataSocketPath(join(config.state_dir, 'network')),
          plan: () => networkPlans.current(),
          guest: (id) => state.guest(id)?.spec,
          log: (message, details) => log.info(message, { ...details }),
        })
      : undefined;
  await networkPlans.restore(log).catch((error: unknown) => log.error('could not re-apply the last network plan', { error: error as Error }));
  await driver.init(state.guests().map(knownGuestOf));
  log.info('host agent starting', { driver: driver.name, state_dir: config.state_dir, known_guests: state.guests().length });

  // Before registering: the console address is part of the registration.
  const consoleProxy = await startConsoleProxy(config, driver, state, reporter, log);
  const inventory = inventoryOf(config, await driver.getInventory(), consoleProxy?.url);
  const sqs = overrides.sqs ?? queues();

  const queueUrl = await registerAndWaitForQueue({ sqs, reporter, inventory, log, signal });
  if (!queueUrl) {
    await consoleProxy?.server.close();
    await metadata?.close();
    log.info('host agent stopped before its queue was ready');
    return;
  }
  await requestNetworkPlan(reporter, log);

  const heartbeat = startHeartbeat({
    driver,
    state,
    reporter,
    log,
    intervalMs: config.heartbeat_interval_seconds * 1000,
    diagnosticsIntervalMs: config.diagnostics_interval_seconds * 1000,
  });
  const consoles = config.image_bucket
    ? startConsolePublisher({ driver, state, s3: overrides.s3 ?? objects(), bucket: config.image_bucket, log, intervalMs: CONSOLE_PUBLISH_INTERVAL_MS })
    : undefined;
  if (!consoles) log.warn('no image_bucket configured: console logs are not published (os-getConsoleOutput answers 404)');
  const shared = { driver, state, reporter, builds: new Semaphore(config.max_parallel_builds), guestLocks: new KeyedLock(), networkPlans };
  const loop = new QueueLoop({
    sqs,
    queueUrl,
    log,
    handle: (command, commandLog) => dispatchCommand(command, { ...shared, log: commandLog }),
    maxInFlight: config.max_parallel_builds + NON_BUILD_SLOTS,
    visibilityTimeoutSeconds: COMMAND_VISIBILITY_TIMEOUT_SECONDS,
    waitTimeSeconds: overrides.waitTimeSeconds,
  });
  const resumed = resumeInterruptedWork(state, (command, commandLog) => dispatchCommand(command, { ...shared, log: commandLog }), log);
  await loop.run(signal);
  await resumed;
  await heartbeat.stop();
  await consoles?.stop();
  await consoleProxy?.server.close();
  await state.flushed();
  await metadata?.close();
  log.info('host agent stopped');
}

/** Node's name of the machine's CPU in Nova's (libvirt's) words. */
const nodeArchitecture = () => ({ x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', ppc64: 'ppc64le', s390x: 's390x' })[process.arch as string] ?? process.arch;

export function inventoryOf(config: AgentConfig, offered: DriverInventory, consoleUrl?: string): HostInventory {
  return HostInventorySchema.parse({
    ...offered,
    host: config.host,
    architecture: nodeArchitecture(),
    console_url: consoleUrl,
    availability_zone: config.availability_zone,
    host_ip: config.host_ip,
    tunnel_ip: config.network.tunnel_ip,
    cpu_allocation_ratio: config.allocation_ratios.cpu,
    ram_allocation_ratio: config.allocation_ratios.ram,
    disk_allocation_ratio: config.allocation_ratios.disk,
  });
}

/**
 * Finishes the builds and destroys a previous run of the agent started and never finished (it
 * was killed). Their commands are hidden in the queue for a whole visibility timeout after that
 * run received them, so waiting for them would leave the instance in BUILD or deleting that long.
 * The guest's record holds all a command needs; when the command itself comes back, the
 * handlers' idempotency makes it report the same outcome again.
 */
async function resumeInterruptedWork(state: LocalState, run: (command: HostCommand, log: Logger) => Promise<void>, log: Logger): Promise<void> {
  const interrupted = state.guests().filter((g) => g.phase !== 'built');
  await Promise.all(
    interrupted.map(async ({ instance_id, request_id, phase, spec }) => {
      const command: HostCommand = phase === 'building' ? { type: 'spawn', request_id, guest: spec } : { type: 'destroy', request_id, instance_id };
      const commandLog = log.createChild({ persistentKeys: { request_id, instance_id, command: command.type } });
      commandLog.info('resuming work interrupted by the previous run of the agent');
      try {
        await run(command, commandLog);
      } catch (error) {
        // Its command comes back from the queue and is tried again then.
        commandLog.error('could not resume interrupted work', { error: error as Error });
      }
    }),
  );
}

function knownGuestOf(record: GuestRecord): KnownGuest {
  return { instance_id: record.instance_id, spec: record.spec, power_state: record.power_state, built: record.phase !== 'building' };
}
