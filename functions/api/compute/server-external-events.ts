import { z } from 'zod';
import { syncHostNetworks } from '../../../shared/network-plan/sync.js';
import { getInstance } from '../../../shared/store/instances.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';

/**
 * `os-server-external-events` (admin; Neutron and Cinder call it in Nova's clouds): each event
 * gets its own code — 404 for an unknown server, 422 for a server on no host, 200 otherwise —
 * and the answer is 200 when all are 200, 404 when none is, 207 for a mix. The network events
 * make the server's host take its network plan again; the others change nothing here.
 */
const EventSchema = z.strictObject({
  name: z.enum(['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted', 'volume-extended', 'power-update', 'accelerator-request-bound', 'volume-reimaged']),
  server_uuid: z.string().uuid(),
  tag: z.string().max(255).optional(),
  status: z.enum(['failed', 'completed', 'in-progress']).optional(),
});
const BodySchema = z.strictObject({ events: z.array(EventSchema).min(1) });

async function createEvents(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-server-external-events:create');
  const { events } = parseBody(req, BodySchema);
  const hostsToSync = new Set<string>();
  const answered = await Promise.all(
    events.map(async (e) => {
      const instance = await getInstance(e.server_uuid);
      const code = !instance ? 404 : !instance.host ? 422 : 200;
      if (code === 200 && e.name.startsWith('network-')) hostsToSync.add(instance!.host!);
      return { ...e, status: e.status ?? 'completed', code };
    }),
  );
  if (hostsToSync.size) await syncHostNetworks(hostsToSync, req.requestId);
  const codes = new Set(answered.map((e) => e.code));
  const status = codes.size === 1 && codes.has(200) ? 200 : codes.has(200) ? 207 : 404;
  return json(status, { events: answered });
}

export const serverExternalEventRoutes: Route[] = [{ method: 'POST', path: '/compute/v2.1/os-server-external-events', service: 'compute', handler: createEvents }];
