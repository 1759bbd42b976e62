import type { Host } from '../../../shared/domain/host.js';
import { BadRequest, NotFound, NotImplemented } from '../../../shared/errors.js';
import { listHosts } from '../../../shared/store/hosts.js';
import { listAllInstances } from '../../../shared/store/instances.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { hostState, legacyId } from './compute-hosts.js';
import { nextLinks, pageOf } from './links.js';
import { instanceName } from './views/server-view.js';
import { authorizeAdmin } from './policy.js';

/**
 * Hypervisors (compute nodes): one per registered host. Microversions: 2.28 shows `cpu_info` as
 * a JSON object instead of a string of it; 2.33 pages the lists with `limit` and `marker` (an id).
 */
const BASE = '/compute/v2.1/os-hypervisors';

export function hypervisorSummary(host: Host, now = Date.now()) {
  return { id: legacyId(host.id), hypervisor_hostname: host.host, state: hostState(host, now), status: host.status };
}

export function hypervisorDetail(host: Host, now = Date.now()) {
  const freeDisk = host.disk_gb - host.used_disk_gb;
  return {
    ...hypervisorSummary(host, now),
    vcpus: host.vcpus,
    memory_mb: host.memory_mb,
    local_gb: host.disk_gb,
    vcpus_used: host.used_vcpus,
    memory_mb_used: host.used_memory_mb,
    local_gb_used: host.used_disk_gb,
    free_ram_mb: host.memory_mb - host.used_memory_mb,
    free_disk_gb: freeDisk,
    // Nova's libvirt driver measures this on the host; the agents do not report it, so it is the free disk.
    disk_available_least: freeDisk,
    current_workload: 0,
    running_vms: host.running_vms,
    hypervisor_type: host.hypervisor_type,
    hypervisor_version: host.hypervisor_version,
    host_ip: host.host_ip,
    // The agents do not report CPU model or topology (a JSON string before 2.28).
    cpu_info: '{}',
    service: { host: host.host, id: legacyId(host.service_id), disabled_reason: host.disabled_reason },
  };
}

/** Totals over the hosts whose compute service is enabled, as Nova's compute_node_statistics. */
export function hypervisorStatistics(hosts: Host[]) {
  const enabled = hosts.filter((h) => h.status === 'enabled');
  const sum = (f: (h: Host) => number) => enabled.reduce((total, h) => total + f(h), 0);
  return {
    count: enabled.length,
    vcpus: sum((h) => h.vcpus),
    memory_mb: sum((h) => h.memory_mb),
    local_gb: sum((h) => h.disk_gb),
    vcpus_used: sum((h) => h.used_vcpus),
    memory_mb_used: sum((h) => h.used_memory_mb),
    local_gb_used: sum((h) => h.used_disk_gb),
    free_ram_mb: sum((h) => h.memory_mb - h.used_memory_mb),
    free_disk_gb: sum((h) => h.disk_gb - h.used_disk_gb),
    current_workload: 0,
    running_vms: sum((h) => h.running_vms),
    disk_available_least: sum((h) => h.disk_gb - h.used_disk_gb),
  };
}

const byName = (a: Host, b: Host) => a.host.localeCompare(b.host);

/** The detail view at the request's microversion. */
function detailView(req: ApiRequest, host: Host, now = Date.now()) {
  const view = hypervisorDetail(host, now);
  return req.microversion.atLeast('2.28') ? { ...view, cpu_info: JSON.parse(view.cpu_info) as Record<string, unknown> } : view;
}

/** All hypervisors by name; from 2.33 one page of them, after the marker, with a `next` link when full. */
async function listed<T extends { id: string | number }>(req: ApiRequest, collection: string, view: (h: Host, now: number) => T) {
  const now = Date.now();
  let hosts = (await listHosts()).sort(byName);
  if (!req.microversion.atLeast('2.33')) return { hypervisors: hosts.map((h) => view(h, now)) };
  const page = pageOf(req.query);
  if (page.marker !== undefined) {
    const at = hosts.findIndex((h) => String(legacyId(h.id)) === page.marker);
    if (at < 0) throw new BadRequest(`marker [${page.marker}] not found`);
    hosts = hosts.slice(at + 1);
  }
  const hypervisors = hosts.slice(0, page.limit).map((h) => view(h, now));
  const links = nextLinks(req, collection, page, hypervisors.map((h) => String(h.id)));
  return { hypervisors, ...(links && { hypervisors_links: links }) };
}

async function findHypervisor(id: string): Promise<Host> {
  const host = (await listHosts()).find((h) => h.id === id);
  if (!host) throw new NotFound(`Hypervisor with ID ${id} could not be found.`);
  return host;
}

async function list(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:list');
  return json(200, await listed(req, 'os-hypervisors', hypervisorSummary));
}

async function detail(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:list-detail');
  return json(200, await listed(req, 'os-hypervisors/detail', (h, now) => detailView(req, h, now)));
}

async function show(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:show');
  return json(200, { hypervisor: detailView(req, await findHypervisor(req.params.hypervisor_id)) });
}

async function statistics(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:statistics');
  return json(200, { hypervisor_statistics: hypervisorStatistics(await listHosts()) });
}

/** Hypervisors whose hostname contains the pattern (Nova: SQL LIKE %pattern%). */
async function search(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:search');
  const pattern = req.params.hypervisor_hostname_pattern;
  const now = Date.now();
  const found = (await listHosts()).filter((h) => h.host.includes(pattern)).sort(byName);
  if (found.length === 0) throw new NotFound(`No hypervisor matching '${pattern}' could be found.`);
  return json(200, { hypervisors: found.map((h) => hypervisorSummary(h, now)) });
}

/** Hypervisors whose hostname contains the pattern, each with the servers it runs (Nova below 2.53). */
async function servers(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:servers');
  const pattern = req.params.hypervisor_hostname_pattern;
  const now = Date.now();
  const found = (await listHosts()).filter((h) => h.host.includes(pattern)).sort(byName);
  if (found.length === 0) throw new NotFound(`No hypervisor matching '${pattern}' could be found.`);
  const instances = await listAllInstances();
  return json(200, {
    hypervisors: found.map((h) => {
      const on = instances.filter((i) => i.host === h.host).map((i) => ({ uuid: i.id, name: instanceName(i) }));
      return { ...hypervisorSummary(h, now), ...(on.length && { servers: on }) };
    }),
  });
}

/** The agents do not report uptime: Nova answers 501 for a driver without it (and the CLI expects that). */
async function uptime(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:uptime');
  await findHypervisor(req.params.hypervisor_id);
  throw new NotImplemented('Virt driver does not implement uptime function.');
}

export const hypervisorRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: list },
  { method: 'GET', path: `${BASE}/detail`, service: 'compute', handler: detail },
  { method: 'GET', path: `${BASE}/statistics`, service: 'compute', handler: statistics },
  { method: 'GET', path: `${BASE}/{hypervisor_hostname_pattern}/search`, service: 'compute', handler: search },
  { method: 'GET', path: `${BASE}/{hypervisor_hostname_pattern}/servers`, service: 'compute', handler: servers },
  { method: 'GET', path: `${BASE}/{hypervisor_id}/uptime`, service: 'compute', handler: uptime },
  { method: 'GET', path: `${BASE}/{hypervisor_id}`, service: 'compute', handler: show },
];
