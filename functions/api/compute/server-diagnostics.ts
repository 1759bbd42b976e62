import { PowerState } from '../../../shared/domain/instance-states.js';
import { Conflict, InstanceInvalidState } from '../../../shared/errors.js';
import { getHost } from '../../../shared/store/hosts.js';
import { getDiagnostics } from '../../../shared/store/instance-diagnostics.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';
import { loadInstance } from './server-access.js';
import {
  legacyDiagnostics,
  powerStateName,
  standardDiagnostics,
  unsampledLegacyDiagnostics,
  unsampledStandardDiagnostics,
  type UnsampledGuest,
} from './views/server-diagnostics-view.js';

/**
 * GET /servers/{id}/diagnostics (admin, as Nova's policy): the running guest's figures. The API
 * cannot ask the host (they meet only through queues and the table): each host agent samples
 * its running guests at every heartbeat and the conductor keeps the latest sample
 * (shared/store/instance-diagnostics.ts). The answer is that sample, with when it was taken
 * (`Last-Modified`) and its age in seconds (`Diagnostics-Age`); a heartbeat is ~10 s apart.
 * Before the host's first sample of a guest (one heartbeat after it started), the answer has what
 * the record knows and null counters, as Nova's schema allows. 409 as Nova: a server without a
 * host is not ready, one whose guest does not run is in the wrong power state.
 */
async function showDiagnostics(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  authorizeAdmin(req, 'os_compute_api:os-server-diagnostics');
  if (!instance.host) throw new Conflict(`Instance ${instance.id} is not ready`);
  if (instance.power_state !== PowerState.RUNNING) {
    throw new InstanceInvalidState('get_diagnostics', 'power state', powerStateName(instance.power_state), instance.id);
  }
  const sample = await getDiagnostics(instance.id, instance.host);
  const now = Date.now();
  if (!sample || sample.power_state !== PowerState.RUNNING) {
    const virtType = (await getHost(instance.host))?.virt_type ?? 'qemu';
    const guest: UnsampledGuest = {
      power_state: instance.power_state,
      vcpus: instance.flavor.vcpus,
      ram_mb: instance.flavor.ram,
      launched_at: instance.launched_at,
      // QEMU guests always have their config drive (host-agent/drivers/qemu/guest-launcher.ts).
      config_drive: instance.config_drive || virtType !== 'fake',
      mac_addresses: [...new Set(Object.values(instance.addresses).flatMap((list) => list.map((a) => a.mac_addr)))],
      hypervisor: virtType,
    };
    return json(200, req.microversion.atLeast('2.48') ? unsampledStandardDiagnostics(guest, now) : unsampledLegacyDiagnostics(guest));
  }
  const headers = {
    'Last-Modified': new Date(sample.sampled_at).toUTCString(),
    'Diagnostics-Age': String(Math.max(0, Math.floor((now - Date.parse(sample.sampled_at)) / 1000))),
  };
  const body = req.microversion.atLeast('2.48') ? standardDiagnostics(sample, now) : legacyDiagnostics(sample);
  return json(200, body, headers);
}

export const serverDiagnosticsRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/servers/{server_id}/diagnostics', service: 'compute', handler: showDiagnostics },
];
