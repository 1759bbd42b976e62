import { PowerState } from '../../../shared/domain/instance-states.js';
import { Conflict, InstanceInvalidState } from '../../../shared/errors.js';
import { getDiagnostics } from '../../../shared/store/instance-diagnostics.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';
import { loadInstance } from './server-access.js';
import { legacyDiagnostics, powerStateName, standardDiagnostics } from './views/server-diagnostics-view.js';

/**
 * GET /servers/{id}/diagnostics (admin, as Nova's policy): the running guest's figures. The API
 * cannot ask the host (they meet only through queues and the table): each host agent samples
 * its running guests at every heartbeat and the conductor keeps the latest sample
 * (shared/store/instance-diagnostics.ts). The answer is that sample, with when it was taken
 * (`Last-Modified`) and its age in seconds (`Diagnostics-Age`); a heartbeat is ~10 s apart.
 * 409 as Nova: a server without a host is not ready, one whose guest does not run is in the
 * wrong power state; and while the host has not sent a sample of the running guest yet.
 */
async function showDiagnostics(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  authorizeAdmin(req, 'os_compute_api:os-server-diagnostics');
  if (!instance.host) throw new Conflict(`Instance ${instance.id} is not ready`);
  if (instance.power_state !== PowerState.RUNNING) {
    throw new InstanceInvalidState('get_diagnostics', 'power state', powerStateName(instance.power_state), instance.id);
  }
  const sample = await getDiagnostics(instance.id, instance.host);
  if (!sample || sample.power_state !== PowerState.RUNNING) {
    throw new Conflict(`Instance ${instance.id} is not ready: its host has not reported the running guest's diagnostics yet (it does with each heartbeat).`);
  }
  const now = Date.now();
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
