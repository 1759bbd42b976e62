import { Logger } from '@aws-lambda-powertools/logger';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConductorMessageSchema, type ConductorMessage } from '../../../shared/messages/conductor.js';
import type { GuestSpec } from '../../../shared/messages/host.js';
import type { CommandContext } from '../../../host-agent/commands/context.js';
import { handleSpawn } from '../../../host-agent/commands/spawn.js';
import { KeyedLock, Semaphore } from '../../../host-agent/concurrency.js';
import type { ComputeDriver } from '../../../host-agent/drivers/driver.js';
import { FakeDriver } from '../../../host-agent/drivers/fake.js';
import { LocalState } from '../../../host-agent/local-state.js';
import { Reporter, type ConductorReport, type ReportSink } from '../../../host-agent/reports.js';
import { M1_TINY } from '../../support/fixtures.js';

/** Collects reports, validated against the conductor contract as the SQS sink does. */
export class MemoryReportSink implements ReportSink {
  readonly reports: ConductorMessage[] = [];

  async send(report: ConductorReport): Promise<void> {
    this.reports.push(ConductorMessageSchema.parse(report));
  }

  ofType<T extends ConductorMessage['type']>(type: T): Extract<ConductorMessage, { type: T }>[] {
    return this.reports.filter((r): r is Extract<ConductorMessage, { type: T }> => r.type === type);
  }
}

export const silentLogger = () => new Logger({ logLevel: 'SILENT' });

export const tempDir = (prefix = 'host-agent-') => mkdtemp(join(tmpdir(), prefix));

export function guestSpec(overrides: Partial<GuestSpec> = {}): GuestSpec {
  const imageId = randomUUID();
  return {
    instance_id: randomUUID(),
    name: 'vm1',
    hostname: 'vm1',
    project_id: 'p1',
    image_id: imageId,
    image: { id: imageId, disk_format: 'qcow2', size: null, virtual_size: null, os_hash_algo: null, os_hash_value: null },
    flavor: { ...M1_TINY, extra_specs: {} },
    key_name: null,
    key_data: null,
    metadata: {},
    user_data: null,
    config_drive: false,
    availability_zone: null,
    launch_index: 0,
    nics: [],
    ...overrides,
  };
}

export const fakeInventory = { vcpus: 8, memory_mb: 16384, disk_gb: 100 };

export interface TestContext extends CommandContext {
  sink: MemoryReportSink;
}

/** A command context on a real LocalState in a temporary dir and a fake driver (or the one given). */
export async function commandContext(options: { dir?: string; driver?: ComputeDriver; maxBuilds?: number } = {}): Promise<TestContext> {
  const state = await LocalState.open(options.dir ?? (await tempDir()));
  const driver = options.driver ?? new FakeDriver({ inventory: fakeInventory });
  await driver.init(state.guests().map((r) => ({ instance_id: r.instance_id, spec: r.spec, power_state: r.power_state, built: r.phase !== 'building' })));
  const sink = new MemoryReportSink();
  return {
    driver,
    state,
    sink,
    reporter: new Reporter(sink, 'compute-1'),
    builds: new Semaphore(options.maxBuilds ?? 10),
    guestLocks: new KeyedLock(),
    log: silentLogger(),
  };
}

/** A command context with one guest spawned on `driver` (a fake one by default), its reports cleared. */
export async function withSpawnedGuest<D extends ComputeDriver = FakeDriver>(driver: D = new FakeDriver({ inventory: fakeInventory }) as unknown as D) {
  const ctx = await commandContext({ driver });
  const guest = guestSpec();
  await handleSpawn({ type: 'spawn', request_id: 'req-spawn', guest }, ctx);
  ctx.sink.reports.length = 0;
  return { ctx, driver, guest, id: guest.instance_id };
}
