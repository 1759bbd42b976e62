import type { Logger } from '@aws-lambda-powertools/logger';
import type { DriverDiagnostics, GuestDiagnostics } from '../shared/domain/guest-diagnostics.js';
import { PowerState } from '../shared/domain/instance-states.js';
import { NotSupportedByDriver, type ComputeDriver, type GuestInfo } from './drivers/driver.js';

/** Guests sampled per heartbeat, so the report stays far under SQS's 256 KiB (a sample is ~1 KiB). */
export const MAX_SAMPLED_GUESTS = 100;
/** Guests sampled at once: each sample is a QMP session and a few /proc reads. */
const PARALLEL_SAMPLES = 4;
/** A guest that takes longer is skipped this time (its QMP socket may be held by `host-agent status`). */
const SAMPLE_TIMEOUT_MS = 3000;
/** Heartbeats drift a little: a sample due within this much is taken now rather than a heartbeat later. */
const INTERVAL_SLACK_MS = 1000;

/**
 * Takes the diagnostics of the host's running guests at heartbeats, for the conductor to store
 * and `GET /servers/{id}/diagnostics` to answer from: the API cannot ask an agent (they meet
 * only through queues and the table), so the figures travel with the heartbeat and the API says
 * how old they are. Each sample is a table write: a guest is sampled at most every
 * `minIntervalMs` (the agent's diagnostics_interval_seconds, 30 s by default). Keeps each guest's previous sample to add what needs two: vCPU
 * utilisation (%) and NIC rates (bytes/s).
 */
export class DiagnosticsSampler {
  private readonly previous = new Map<string, GuestDiagnostics>();

  constructor(
    private readonly driver: ComputeDriver,
    private readonly log: Pick<Logger, 'debug'>,
  ) {}

  async sample(guests: readonly GuestInfo[], minIntervalMs = 0): Promise<GuestDiagnostics[]> {
    const running = guests.filter((g) => g.power_state === PowerState.RUNNING);
    const now = Date.now();
    const due = running.filter((g) => {
      const last = this.previous.get(g.instance_id);
      return !last || now - Date.parse(last.sampled_at) >= minIntervalMs - INTERVAL_SLACK_MS;
    });
    const samples: GuestDiagnostics[] = [];
    for (const chunk of chunks(due.slice(0, MAX_SAMPLED_GUESTS), PARALLEL_SAMPLES)) {
      const batch = await Promise.all(chunk.map((g) => this.sampleOne(g.instance_id)));
      samples.push(...batch.filter((s): s is GuestDiagnostics => s !== undefined));
    }
    // A guest that stopped loses its previous sample: its next run starts afresh.
    const runningIds = new Set(running.map((g) => g.instance_id));
    for (const id of this.previous.keys()) if (!runningIds.has(id)) this.previous.delete(id);
    return samples;
  }

  private async sampleOne(instanceId: string): Promise<GuestDiagnostics | undefined> {
    let figures: DriverDiagnostics;
    try {
      figures = await withTimeout(this.driver.getDiagnostics(instanceId), SAMPLE_TIMEOUT_MS);
    } catch (error) {
      if (!(error instanceof NotSupportedByDriver)) this.log.debug('no diagnostics for this guest this time', { instance_id: instanceId, error: error as Error });
      return undefined;
    }
    const sample = withRates({ instance_id: instanceId, sampled_at: new Date().toISOString(), ...figures }, this.previous.get(instanceId));
    this.previous.set(instanceId, sample);
    return sample;
  }
}

type Unrated = Omit<GuestDiagnostics, 'cpus' | 'nics'> & Pick<DriverDiagnostics, 'cpus' | 'nics'>;

/** vCPU utilisation and NIC rates between the previous sample of the same run and this one; null without one. */
export function withRates(now: Unrated, before: GuestDiagnostics | undefined): GuestDiagnostics {
  const sameRun = before && before.started_at === now.started_at && before.sampled_at < now.sampled_at;
  const seconds = sameRun ? (Date.parse(now.sampled_at) - Date.parse(before.sampled_at)) / 1000 : 0;
  const perSecond = (a: number | null, b: number | null | undefined) =>
    seconds > 0 && a !== null && b !== null && b !== undefined && a >= b ? Math.round((a - b) / seconds) : null;
  return {
    ...now,
    cpus: now.cpus.map((cpu) => {
      const prior = sameRun ? before.cpus.find((c) => c.id === cpu.id) : undefined;
      const nsPerSecond = perSecond(cpu.time_ns, prior?.time_ns);
      return { ...cpu, utilisation: nsPerSecond === null ? null : Math.min(100, Math.round(nsPerSecond / 1e7)) };
    }),
    nics: now.nics.map((nic) => {
      const prior = sameRun ? before.nics.find((n) => n.mac_address === nic.mac_address) : undefined;
      return { ...nic, rx_rate: perSecond(nic.rx_octets, prior?.rx_octets), tx_rate: perSecond(nic.tx_octets, prior?.tx_octets) };
    }),
  };
}

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took more than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const samplers = new WeakMap<ComputeDriver, DiagnosticsSampler>();

/** The sampler of a driver, made at its first heartbeat (the previous samples live with it). */
export function diagnosticsSamplerOf(driver: ComputeDriver, log: Pick<Logger, 'debug'>): DiagnosticsSampler {
  let sampler = samplers.get(driver);
  if (!sampler) samplers.set(driver, (sampler = new DiagnosticsSampler(driver, log)));
  return sampler;
}
