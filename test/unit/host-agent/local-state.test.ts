import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { LocalState, type GuestRecord } from '../../../host-agent/local-state.js';
import { guestSpec, tempDir } from './support.js';

function record(overrides: Partial<GuestRecord> = {}): GuestRecord {
  const spec = guestSpec();
  const now = new Date().toISOString();
  return { instance_id: spec.instance_id, request_id: 'req-1', phase: 'built', power_state: PowerState.RUNNING, spec, created_at: now, updated_at: now, ...overrides };
}

describe('local state', () => {
  it('starts empty in a new dir', async () => {
    const state = await LocalState.open(join(await tempDir(), 'nested', 'state'));
    expect(state.guests()).toEqual([]);
  });

  it('writes guests and tombstones and reads them back after a restart', async () => {
    const dir = await tempDir();
    const state = await LocalState.open(dir);
    const kept = record();
    const gone = record();
    await state.putGuest(kept);
    await state.putGuest(gone);
    await state.updateGuest(kept.instance_id, { power_state: PowerState.PAUSED });
    await state.replaceWithTombstone({ instance_id: gone.instance_id, request_id: 'req-2', outcome: 'destroyed', at: new Date().toISOString() });

    const reloaded = await LocalState.open(dir);
    expect(reloaded.guests().map((g) => g.instance_id)).toEqual([kept.instance_id]);
    expect(reloaded.guest(kept.instance_id)).toMatchObject({ power_state: PowerState.PAUSED, spec: kept.spec });
    expect(reloaded.tombstone(gone.instance_id)).toMatchObject({ outcome: 'destroyed', request_id: 'req-2' });
  });

  it('replaces the file atomically and leaves no temporary files', async () => {
    const dir = await tempDir();
    const state = await LocalState.open(dir);
    await Promise.all(Array.from({ length: 20 }, () => state.putGuest(record())));
    expect(await readdir(dir)).toEqual(['state.json']);
    const onDisk = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
    expect(Object.keys(onDisk.guests)).toHaveLength(20);
  });

  it('ignores a temporary file a crash left behind', async () => {
    const dir = await tempDir();
    const state = await LocalState.open(dir);
    const guest = record();
    await state.putGuest(guest);
    // What a kill -9 between writing the temporary file and the rename leaves.
    await writeFile(join(dir, 'state.json.123.4.tmp'), '{"version": 1, "gue');
    const reloaded = await LocalState.open(dir);
    expect(reloaded.guest(guest.instance_id)).toBeDefined();
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('refuses to start on a corrupt state file instead of forgetting guests', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'state.json'), '{"version": 1, "guests": ');
    await expect(LocalState.open(dir)).rejects.toThrow(/not valid JSON/);
    await writeFile(join(dir, 'state.json'), '{"version": 2}');
    await expect(LocalState.open(dir)).rejects.toThrow(/not valid/);
  });

  it('drops tombstones older than the retention', async () => {
    const dir = await tempDir();
    const state = await LocalState.open(dir);
    const old = new Date(Date.now() - 60_000).toISOString();
    await state.replaceWithTombstone({ instance_id: 'a', request_id: 'r', outcome: 'destroyed', at: old });
    const reloaded = await LocalState.open(dir, { tombstoneRetentionMs: 1_000 });
    expect(reloaded.tombstone('a')).toBeUndefined();
  });

  it('forgets the tombstone of a guest that is recorded again', async () => {
    const state = await LocalState.open(await tempDir());
    const guest = record();
    await state.replaceWithTombstone({ instance_id: guest.instance_id, request_id: 'r', outcome: 'spawn_failed', reason: 'x', at: new Date().toISOString() });
    await state.putGuest(guest);
    expect(state.tombstone(guest.instance_id)).toBeUndefined();
  });
});
