import { zoneOf, type Host } from '../../../shared/domain/host.js';
import { listHosts } from '../../../shared/store/hosts.js';
import { json } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { COMPUTE_BINARY, hostState } from './compute-hosts.js';
import { authorizeAdmin } from './policy.js';

const BASE = '/compute/v2.1/os-availability-zone';

/**
 * Nova's split: a zone is available when at least one enabled compute service is in it; zones
 * that only hold disabled services are listed as unavailable. There is no "internal" zone: the
 * control plane here has no long-running services to show in it.
 */
export function zonesOf(hosts: Host[]): { available: string[]; unavailable: string[] } {
  const available = new Set(hosts.filter((h) => h.status === 'enabled').map(zoneOf));
  const unavailable = new Set(hosts.map(zoneOf).filter((z) => !available.has(z)));
  return { available: [...available].sort(), unavailable: [...unavailable].sort() };
}

async function list() {
  const { available, unavailable } = zonesOf(await listHosts());
  return json(200, {
    availabilityZoneInfo: [
      ...available.map((zoneName) => ({ zoneName, zoneState: { available: true }, hosts: null })),
      ...unavailable.map((zoneName) => ({ zoneName, zoneState: { available: false }, hosts: null })),
    ],
  });
}

export function zoneDetail(hosts: Host[], now = Date.now()) {
  const { available, unavailable } = zonesOf(hosts);
  return {
    availabilityZoneInfo: [
      ...available.map((zoneName) => ({
        zoneName,
        zoneState: { available: true },
        hosts: Object.fromEntries(
          hosts
            .filter((h) => zoneOf(h) === zoneName && h.status === 'enabled')
            .map((h) => [
              h.host,
              { [COMPUTE_BINARY]: { available: hostState(h, now) === 'up', active: true, updated_at: h.last_heartbeat } },
            ]),
        ),
      })),
      ...unavailable.map((zoneName) => ({ zoneName, zoneState: { available: false }, hosts: null })),
    ],
  };
}

async function detail(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-availability-zone:detail');
  return json(200, zoneDetail(await listHosts()));
}

export const availabilityZoneRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: list },
  { method: 'GET', path: `${BASE}/detail`, service: 'compute', handler: detail },
];
