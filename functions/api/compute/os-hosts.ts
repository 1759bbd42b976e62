import { z } from 'zod';
import { zoneOf, type Host } from '../../../shared/domain/host.js';
import { NotFound, NotImplemented } from '../../../shared/errors.js';
import { getHost, listHosts, setHostStatus } from '../../../shared/store/hosts.js';
import { listAllInstances } from '../../../shared/store/instances.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { CONTROL_BINARIES, CONTROL_HOST } from './control-services.js';
import { authorizeAdmin } from './policy.js';

/**
 * Nova's os-hosts (admin; gone from 2.43, where os-services and os-hypervisors replace it): the
 * control plane's scheduler and conductor (zone internal) and the compute hosts with their zone, one host's resources (total, used now, per project), enabling
 * and disabling it. The agents, like Nova's libvirt driver, have no host maintenance mode or
 * power actions: those are Nova's 501s.
 */
const BASE = '/compute/v2.1/os-hosts';

function available(req: ApiRequest, rule: string): void {
  if (req.microversion.atLeast('2.43')) throw new NotFound('The resource could not be found.');
  authorizeAdmin(req, `os_compute_api:os-hosts:${rule}`);
}

async function loadHost(req: ApiRequest): Promise<Host> {
  const host = await getHost(req.params.host_name);
  if (!host) throw new NotFound(`Compute host ${req.params.host_name} could not be found.`);
  return host;
}

/** The control plane's services, as Nova lists its scheduler and conductor hosts in the internal zone. */
const CONTROL_ROWS = CONTROL_BINARIES.map((binary) => ({ host_name: CONTROL_HOST, service: binary.replace(/^nova-/, ''), zone: 'internal' }));

async function list(req: ApiRequest): Promise<ApiResponse> {
  available(req, 'list');
  const zone = req.query.get('zone');
  const computes = (await listHosts()).map((h) => ({ host_name: h.host, service: 'compute', zone: zoneOf(h) }));
  return json(200, { hosts: [...CONTROL_ROWS, ...computes].filter((h) => !zone || h.zone === zone) });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  available(req, 'show');
  const host = await loadHost(req);
  const servers = (await listAllInstances()).filter((i) => i.claimed_host === host.host);
  const resource = (project: string, cpu: number, memory_mb: number, disk_gb: number) => ({ resource: { host: host.host, project, cpu, memory_mb, disk_gb } });
  const byProject = new Map<string, { cpu: number; memory_mb: number; disk_gb: number }>();
  for (const i of servers) {
    const used = byProject.get(i.project_id) ?? { cpu: 0, memory_mb: 0, disk_gb: 0 };
    byProject.set(i.project_id, { cpu: used.cpu + i.flavor.vcpus, memory_mb: used.memory_mb + i.flavor.ram, disk_gb: used.disk_gb + i.flavor.disk });
  }
  const claimed = [...byProject.values()].reduce((t, u) => ({ cpu: t.cpu + u.cpu, memory_mb: t.memory_mb + u.memory_mb, disk_gb: t.disk_gb + u.disk_gb }), { cpu: 0, memory_mb: 0, disk_gb: 0 });
  return json(200, {
    host: [
      resource('(total)', host.vcpus, host.memory_mb, host.disk_gb),
      resource('(used_now)', host.used_vcpus, host.used_memory_mb, host.used_disk_gb),
      resource('(used_max)', claimed.cpu, claimed.memory_mb, claimed.disk_gb),
      ...[...byProject].map(([project, u]) => resource(project, u.cpu, u.memory_mb, u.disk_gb)),
    ],
  });
}

const UpdateSchema = z
  .strictObject({ status: z.enum(['enable', 'disable']).optional(), maintenance_mode: z.enum(['enable', 'disable']).optional() })
  .refine((b) => b.status !== undefined || b.maintenance_mode !== undefined, "'status' or 'maintenance_mode' is needed for a host update");

async function update(req: ApiRequest): Promise<ApiResponse> {
  available(req, 'update');
  const body = parseBody(req, UpdateSchema);
  const host = await loadHost(req);
  if (body.maintenance_mode) throw new NotImplemented('Virt driver does not implement host maintenance mode.');
  const status = body.status === 'enable' ? 'enabled' : 'disabled';
  if (!(await setHostStatus(host.host, status, null))) throw new NotFound(`Compute host ${host.host} could not be found.`);
  return json(200, { host: host.host, status });
}

function powerAction(action: 'reboot' | 'shutdown' | 'startup') {
  return async (req: ApiRequest): Promise<ApiResponse> => {
    available(req, action);
    await loadHost(req);
    throw new NotImplemented('Virt driver does not implement host power management.');
  };
}

export const osHostRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: list },
  { method: 'GET', path: `${BASE}/{host_name}`, service: 'compute', handler: show },
  { method: 'PUT', path: `${BASE}/{host_name}`, service: 'compute', handler: update },
  { method: 'GET', path: `${BASE}/{host_name}/reboot`, service: 'compute', handler: powerAction('reboot') },
  { method: 'GET', path: `${BASE}/{host_name}/shutdown`, service: 'compute', handler: powerAction('shutdown') },
  { method: 'GET', path: `${BASE}/{host_name}/startup`, service: 'compute', handler: powerAction('startup') },
];
