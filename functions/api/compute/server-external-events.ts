import { z } from 'zod';
import { syncHostNetworks } from '../../../shared/network-plan/sync.js';
import { getInstance } from '../../../shared/store/instances.js';
import type { Microversion } from './microversion.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';

/**
 * `os-server-external-events` (admin; Neutron, Cinder, Ironic and Cyborg call it in Nova's
 * clouds), as Nova answers since it dropped the all-unknown 404: each event gets its own code —
 * 404 for an unknown server, 400 for a missing tag where the event needs one, 422 for a server on
 * no host (all three `failed`), 200 otherwise — and the answer is 200 when all are 200, else 207.
 * The network events make the server's host take its network plan again; the others are accepted
 * and change nothing here (volume-extended, volume-reimaged and accelerator-request-bound concern
 * services this cloud does not have; power-update is Ironic's, for bare-metal guests).
 */

/** The event names of each microversion (2.51 volume-extended, 2.76 power-update, 2.82 accelerator-request-bound, 2.93 volume-reimaged). */
const NAMES: [string, string[]][] = [
  ['2.1', ['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted']],
  ['2.51', ['volume-extended']],
  ['2.76', ['power-update']],
  ['2.82', ['accelerator-request-bound']],
  ['2.93', ['volume-reimaged']],
];
/** Nova's TAG_REQUIRED. */
const TAG_REQUIRED = new Set(['volume-extended', 'power-update', 'accelerator-request-bound']);

function bodySchema(mv: Microversion) {
  const names = NAMES.filter(([version]) => mv.atLeast(version)).flatMap(([, n]) => n) as [string, ...string[]];
  const event = z.strictObject({
    name: z.enum(names),
    server_uuid: z.string().uuid(),
    tag: z.string().max(255).optional(),
    status: z.enum(['failed', 'completed', 'in-progress']).optional(),
  });
  return z.strictObject({ events: z.array(event).min(1) });
}

async function createEvents(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-server-external-events:create');
  const { events } = parseBody(req, bodySchema(req.microversion));
  const hostsToSync = new Set<string>();
  const answered = await Promise.all(
    events.map(async (e) => {
      const instance = await getInstance(e.server_uuid);
      const code = !instance ? 404 : TAG_REQUIRED.has(e.name) && e.tag === undefined ? 400 : !instance.host ? 422 : 200;
      if (code === 200 && e.name.startsWith('network-')) hostsToSync.add(instance!.host!);
      return { ...e, status: code === 200 ? 'completed' : 'failed', code };
    }),
  );
  if (hostsToSync.size) await syncHostNetworks(hostsToSync, req.requestId);
  return json(answered.every((e) => e.code === 200) ? 200 : 207, { events: answered });
}

export const serverExternalEventRoutes: Route[] = [{ method: 'POST', path: '/compute/v2.1/os-server-external-events', service: 'compute', handler: createEvents }];
