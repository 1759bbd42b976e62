import type { Logger } from '@aws-lambda-powertools/logger';
import { setTimeout as sleep } from 'node:timers/promises';
import { PowerState } from '../shared/domain/instance-states.js';
import type { ComputeDriver, GuestInfo } from './drivers/driver.js';
import type { LocalState } from './local-state.js';
import type { Reporter } from './reports.js';
import { diagnosticsSamplerOf } from './guest-diagnostics-sampler.js';
import { hostUptime } from './uptime.js';

export interface HeartbeatOptions {
  driver: ComputeDriver;
  state: LocalState;
  reporter: Reporter;
  log: Logger;
  intervalMs: number;
  /** At least this long between two diagnostics samples of a guest (guest-diagnostics-sampler.ts); absent = every heartbeat. */
  diagnosticsIntervalMs?: number;
}

/**
 * Sends a heartbeat now and then every intervalMs until stopped: the guests the hypervisor has,
 * with their power state, plus built guests it has lost (as NOSTATE), so the conductor sees
 * drift, and the host's uptime line (os-hypervisors uptime). It also records power state changes in the local state (Nova's power state sync).
 */
export function startHeartbeat(options: HeartbeatOptions): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await beat(options);
      await sleep(options.intervalMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}

export async function beat({ driver, state, reporter, log, diagnosticsIntervalMs }: HeartbeatOptions): Promise<void> {
  try {
    // The power states are as of the listing: a later stamp would let them overwrite what a
    // guest's own report (spawned, action done) wrote while the diagnostics were being sampled.
    const listedAt = new Date().toISOString();
    const seen = await syncPowerStates(driver, state, log);
    // A guest the hypervisor runs and the agent never built (or forgot) is reported, never killed.
    const unknown = seen.filter((guest) => !state.guest(guest.instance_id));
    for (const guest of unknown) log.warn('the hypervisor runs a guest this agent does not know; leaving it alone', { instance_id: guest.instance_id, power_state: guest.power_state });
    const guests = seen.filter((guest) => !unknown.includes(guest));
    // The running guests' diagnostics travel with the heartbeat (guest-diagnostics-sampler.ts).
    const diagnostics = await diagnosticsSamplerOf(driver, log).sample(guests, diagnosticsIntervalMs);
    await reporter.send({ type: 'heartbeat', guests, unknown_guests: unknown.map((guest) => guest.instance_id), uptime: await hostUptime(), diagnostics }, listedAt);
    log.debug('sent heartbeat', { guests: guests.length, unknown_guests: unknown.length });
  } catch (error) {
    log.warn('could not send heartbeat', { error: error as Error });
  }
}

async function syncPowerStates(driver: ComputeDriver, state: LocalState, log: Logger): Promise<GuestInfo[]> {
  const seen = await driver.listGuests();
  const byId = new Map(seen.map((guest) => [guest.instance_id, guest]));
  const lost: GuestInfo[] = [];
  for (const record of state.guests()) {
    if (record.phase !== 'built') continue;
    const powerState = byId.get(record.instance_id)?.power_state ?? PowerState.NOSTATE;
    if (!byId.has(record.instance_id)) lost.push({ instance_id: record.instance_id, power_state: powerState });
    // A destroy may have removed the record while the driver was listing.
    if (powerState !== record.power_state && state.guest(record.instance_id)?.phase === 'built') {
      log.info('guest power state changed', { instance_id: record.instance_id, from: record.power_state, to: powerState });
      await state.updateGuest(record.instance_id, { power_state: powerState });
    }
  }
  return [...seen, ...lost];
}
