import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleDestroy } from '../../../host-agent/commands/destroy.js';
import { handleShelve } from '../../../host-agent/commands/shelve.js';
import { handleSpawn } from '../../../host-agent/commands/spawn.js';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { commandContext, guestSpec, type TestContext } from './support.js';

/** A stand-in for the presigned part URLs: answers each PUT with an ETag. */
let parts: Server;
let partUrl: string;
beforeAll(async () => {
  parts = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { ETag: '"etag-1"' }).end());
  });
  await new Promise<void>((resolve) => parts.listen(0, '127.0.0.1', resolve));
  partUrl = `http://127.0.0.1:${(parts.address() as AddressInfo).port}/part-1`;
});
afterAll(() => new Promise<void>((resolve) => parts.close(() => resolve())));

const shelve = (ctx: TestContext, instance_id: string) =>
  handleShelve({ type: 'shelve', request_id: 'req-shelve', instance_id, image_id: 'image-1', upload: { part_size: 5 * 1024 * 1024, part_urls: [partUrl] }, timeout_sec: 0 }, ctx);

describe('shelve on the host', () => {
  it('powers the guest off, uploads its disk and reports the snapshot; the guest stays until offloaded', async () => {
    const ctx = await commandContext();
    const guest = guestSpec();
    await handleSpawn({ type: 'spawn', request_id: 'req-spawn', guest }, ctx);
    await shelve(ctx, guest.instance_id);
    const report = ctx.sink.reports.at(-1)!;
    expect(report).toMatchObject({ type: 'action_done', action: 'shelve', power_state: PowerState.SHUTDOWN, snapshot: { parts: [{ part_number: 1, etag: '"etag-1"' }] } });
    expect(ctx.state.guest(guest.instance_id)).toMatchObject({ phase: 'built' });
    // Seen twice: the guest is off already, the disk goes up again.
    await shelve(ctx, guest.instance_id);
    expect(ctx.sink.reports.at(-1)).toMatchObject({ type: 'action_done', action: 'shelve' });
  });

  it('an unshelve spawns again a guest this host offloaded; a late spawn of its earlier life does not', async () => {
    const ctx = await commandContext();
    const guest = guestSpec();
    await handleSpawn({ type: 'spawn', request_id: 'req-spawn', guest }, ctx);
    await handleDestroy({ type: 'destroy', request_id: 'req-offload', instance_id: guest.instance_id }, ctx);
    await handleSpawn({ type: 'spawn', request_id: 'req-spawn', guest }, ctx);
    expect(ctx.sink.reports.at(-1)).toMatchObject({ type: 'destroyed' });

    await handleSpawn({ type: 'spawn', request_id: 'req-unshelve', guest, unshelving_since: new Date(Date.now() + 1000).toISOString() }, ctx);
    expect(ctx.sink.reports.at(-1)).toMatchObject({ type: 'spawned', request_id: 'req-unshelve' });
    expect(ctx.state.guest(guest.instance_id)).toMatchObject({ phase: 'built' });
  });
});
