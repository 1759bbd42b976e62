import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import type { AgentConfig } from '../config.js';
import { GuestRecordSchema, type GuestRecord } from '../local-state.js';
import type { GuestInfo } from '../drivers/driver.js';
import { ImageCache } from '../image-cache/image-cache.js';
import { QemuDriver } from '../drivers/qemu/qemu-driver.js';
import type { VirtType } from '../drivers/qemu/kvm-detect.js';
import { checkPrerequisites, type Check } from './prerequisites.js';

const POWER_STATE_NAMES: Record<number, string> = { 0: 'NOSTATE', 1: 'RUNNING', 3: 'PAUSED', 4: 'SHUTDOWN', 6: 'CRASHED', 7: 'SUSPENDED' };

export interface HostStatus {
  host: string;
  driver: string;
  state_dir: string;
  virt_type: string;
  checks: Check[];
  guests: { instance_id: string; name?: string; phase?: string; recorded_power_state?: string; power_state: string }[];
  unknown_guests: string[];
}

/**
 * `host-agent status`: the host's health and its guests, from the agent's local state (read
 * only: the agent may be running) and, with the qemu driver, each guest's live power state.
 */
export async function hostStatus(config: AgentConfig, log: Logger): Promise<HostStatus> {
  const { checks, virtType } = await checkPrerequisites(config);
  const records = await readLocalGuests(config.state_dir);
  let live: GuestInfo[] = [];
  if (config.driver === 'qemu') {
    const driver = new QemuDriver({
      stateDir: config.state_dir,
      images: new ImageCache({ dir: join(config.state_dir, 'images'), bucket: config.image_bucket ?? 'unused', s3: new S3Client({}), log }),
      virtType: virtType as VirtType,
      log,
      maxParallelSnapshots: 1,
    });
    live = await driver.listGuests();
  }
  const liveById = new Map(live.map((g) => [g.instance_id, g.power_state]));
  const guests = records.map((r) => ({
    instance_id: r.instance_id,
    name: r.spec.name,
    phase: r.phase,
    recorded_power_state: POWER_STATE_NAMES[r.power_state],
    power_state: config.driver === 'qemu' ? POWER_STATE_NAMES[liveById.get(r.instance_id) ?? 0] : 'unknown (fake driver: no live state outside the agent)',
  }));
  const known = new Set(records.map((r) => r.instance_id));
  return { host: config.host, driver: config.driver, state_dir: config.state_dir, virt_type: virtType, checks, guests, unknown_guests: live.map((g) => g.instance_id).filter((id) => !known.has(id)) };
}

export function formatStatus(status: HostStatus): string {
  const lines = [
    `host ${status.host}: driver ${status.driver}, virt type ${status.virt_type}, state in ${status.state_dir}`,
    ...status.checks.map((c) => `  ${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'} ${c.name}: ${c.detail}`),
    `guests (${status.guests.length}):`,
    ...status.guests.map((g) => `  ${g.instance_id}  ${g.power_state.padEnd(9)}  ${g.phase ?? ''}  ${g.name ?? ''}`),
  ];
  if (status.unknown_guests.length) lines.push(`guests this agent does not know (left alone): ${status.unknown_guests.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** The agent's state file, read without LocalState.open (which may write: the agent may be running). */
async function readLocalGuests(stateDir: string): Promise<GuestRecord[]> {
  try {
    const state = z.object({ guests: z.record(z.string(), GuestRecordSchema) }).parse(JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')));
    return Object.values(state.guests);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
