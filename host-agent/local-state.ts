import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PowerState } from '../shared/domain/instance-states.js';
import { GuestSpecSchema } from '../shared/messages/host.js';

/**
 * `building`: the agent started a spawn and has not seen it finish (after a crash, the guest
 * may be half-built). `built`: spawn finished. `deleting`: a destroy started.
 */
export const GuestPhaseSchema = z.enum(['building', 'built', 'deleting']);

export const GuestRecordSchema = z.object({
  instance_id: z.string(),
  request_id: z.string(),
  phase: GuestPhaseSchema,
  power_state: z.enum(PowerState),
  spec: GuestSpecSchema,
  created_at: z.string(),
  updated_at: z.string(),
});
export type GuestRecord = z.infer<typeof GuestRecordSchema>;

/**
 * What the agent remembers about a guest it no longer has, so that a message delivered again
 * or out of order (a spawn after its destroy) changes nothing: the outcome is reported again.
 */
export const TombstoneSchema = z.object({
  instance_id: z.string(),
  request_id: z.string(),
  outcome: z.enum(['destroyed', 'spawn_failed']),
  reason: z.string().optional(),
  at: z.string(),
});
export type Tombstone = z.infer<typeof TombstoneSchema>;

const StateFileSchema = z.object({
  version: z.literal(1),
  guests: z.record(z.string(), GuestRecordSchema),
  tombstones: z.record(z.string(), TombstoneSchema),
});
type StateFile = z.infer<typeof StateFileSchema>;

const STATE_FILE = 'state.json';
/** SQS keeps a message at most 14 days: past that, no late copy of a command can arrive. */
const DEFAULT_TOMBSTONE_RETENTION_MS = 14 * 24 * 3600 * 1000;

export interface LocalStateOptions {
  tombstoneRetentionMs?: number;
}

/**
 * The agent's memory of its guests: one JSON file in its state dir, replaced atomically
 * (write a temporary file, fsync, rename, fsync the dir) on every change, so a kill -9 leaves
 * either the old file or the new one, never a torn one.
 */
export class LocalState {
  private writes: Promise<void> = Promise.resolve();
  private tmpCounter = 0;

  private constructor(
    readonly dir: string,
    private readonly data: StateFile,
    private readonly tombstoneRetentionMs: number,
  ) {}

  static async open(dir: string, options: LocalStateOptions = {}): Promise<LocalState> {
    await mkdir(dir, { recursive: true });
    await removeLeftoverTempFiles(dir);
    const state = new LocalState(dir, await load(join(dir, STATE_FILE)), options.tombstoneRetentionMs ?? DEFAULT_TOMBSTONE_RETENTION_MS);
    if (state.pruneTombstones()) await state.persist();
    return state;
  }

  get file(): string {
    return join(this.dir, STATE_FILE);
  }

  guest(instanceId: string): GuestRecord | undefined {
    return this.data.guests[instanceId];
  }

  guests(): GuestRecord[] {
    return Object.values(this.data.guests);
  }

  tombstone(instanceId: string): Tombstone | undefined {
    return this.data.tombstones[instanceId];
  }

  /** Records a guest; a tombstone for the same instance is dropped (the guest exists again). */
  async putGuest(record: GuestRecord): Promise<void> {
    this.data.guests[record.instance_id] = GuestRecordSchema.parse(record);
    delete this.data.tombstones[record.instance_id];
    await this.persist();
  }

  async updateGuest(instanceId: string, change: Partial<Pick<GuestRecord, 'phase' | 'power_state' | 'request_id'>>): Promise<GuestRecord> {
    const current = this.data.guests[instanceId];
    if (!current) throw new Error(`no local record of guest ${instanceId}`);
    const updated = { ...current, ...change, updated_at: new Date().toISOString() };
    this.data.guests[instanceId] = updated;
    await this.persist();
    return updated;
  }

  /** Forgets a guest and remembers how it ended, in one write. */
  async replaceWithTombstone(tombstone: Tombstone): Promise<void> {
    delete this.data.guests[tombstone.instance_id];
    this.data.tombstones[tombstone.instance_id] = TombstoneSchema.parse(tombstone);
    this.pruneTombstones();
    await this.persist();
  }

  /** Resolves once every change made so far is on disk. */
  flushed(): Promise<void> {
    return this.writes;
  }

  private pruneTombstones(now = Date.now()): boolean {
    let pruned = false;
    for (const [id, tombstone] of Object.entries(this.data.tombstones)) {
      if (now - Date.parse(tombstone.at) > this.tombstoneRetentionMs) {
        delete this.data.tombstones[id];
        pruned = true;
      }
    }
    return pruned;
  }

  /** Writes are serialised; each one writes the whole state as it is when its turn comes. */
  private persist(): Promise<void> {
    const write = this.writes.then(() => this.writeFile());
    this.writes = write.catch(() => undefined);
    return write;
  }

  private async writeFile(): Promise<void> {
    const tmp = join(this.dir, `${STATE_FILE}.${process.pid}.${++this.tmpCounter}.tmp`);
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(this.data, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

async function load(file: string): Promise<StateFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, guests: {}, tombstones: {} };
    throw error;
  }
  // A file that does not parse is never replaced by an empty state: that would forget guests.
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`the agent state file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = StateFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`the agent state file ${file} is not valid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

async function removeLeftoverTempFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith(`${STATE_FILE}.`) && name.endsWith('.tmp')) await unlink(join(dir, name));
  }
}
