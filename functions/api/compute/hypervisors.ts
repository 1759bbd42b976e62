import type { Host } from '../../../shared/domain/host.js';
import type { Instance } from '../../../shared/domain/instance.js';
import { BadRequest, NotFound, NotImplemented } from '../../../shared/errors.js';
import { listHosts } from '../../../shared/store/hosts.js';
import { listAllInstances } from '../../../shared/store/instances.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { canonicalUuid, computeNodeUuid, hostState, isUuidLike, legacyId, serviceUuid } from './compute-hosts.js';
import { nextLinks, pageOf } from './links.js';
import { Microversion } from './microversion.js';
import { instanceName } from './views/server-view.js';
import { authorizeAdmin } from './policy.js';
import { rejectUnknownQuery } from './query-params.js';

/**
 * Hypervisors (compute nodes): one per registered host. Microversions: 2.28 shows `cpu_info` as
 * a JSON object instead of a string of it; 2.33 pages the lists with `limit` and `marker` (an id);
 * 2.53 identifies hypervisors (and their services) by UUID, moves search and servers into the
 * list's `hypervisor_hostname_pattern` and `with_servers` parameters (and show's `with_servers`),
 * and rejects unknown parameters; 2.75 always shows `servers` when asked for; 2.88 drops the
 * resource fields, cpu_info, /statistics and /uptime, and shows `uptime` in the detail view.
 */
const BASE = '/compute/v2.1/os-hypervisors';

export function hypervisorSummary(host: Host, now = Date.now(), uuidIds = false) {
  return { id: uuidIds ? computeNodeUuid(host) : legacyId(host.id), hypervisor_hostname: host.host, state: hostState(host, now), status: host.status };
}

/** The resource fields of the detail view below 2.88. */
function resourceFields(host: Host) {
  const freeDisk = host.disk_gb - host.used_disk_gb;
  return {
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
  };
}

/** The 2.1 detail view. */
export function hypervisorDetail(host: Host, now = Date.now()) {
  return {
    ...hypervisorSummary(host, now),
    ...resourceFields(host),
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

/** The uptime the host's agent last reported (the `uptime` command's line), or null while it is down or has not said. */
const uptimeOf = (host: Host, now: number) => (hostState(host, now) === 'up' ? (host.uptime ?? null) : null);

/** A hypervisor at the request's microversion; `servers` are the ones on it when they were asked for. */
function view(req: ApiRequest, host: Host, detail: boolean, now: number, servers?: Instance[]) {
  const mv = req.microversion;
  const uuidIds = mv.atLeast('2.53');
  const summary = hypervisorSummary(host, now, uuidIds);
  const details = detail && {
    ...(!mv.atLeast('2.88') && { ...resourceFields(host), cpu_info: mv.atLeast('2.28') ? {} : '{}' }),
    hypervisor_type: host.hypervisor_type,
    hypervisor_version: host.hypervisor_version,
    host_ip: host.host_ip,
    service: { host: host.host, id: uuidIds ? serviceUuid(host) : legacyId(host.service_id), disabled_reason: host.disabled_reason },
    ...(mv.atLeast('2.88') && { uptime: uptimeOf(host, now) }),
  };
  const listed = servers?.map((i) => ({ name: instanceName(i), uuid: i.id }));
  const withServers = listed && (listed.length > 0 || mv.atLeast('2.75')) && { servers: listed };
  return { ...summary, ...details, ...withServers };
}

const byName = (a: Host, b: Host) => a.host.localeCompare(b.host);

/** Nova's parameter_types.boolean for a query value (strict: anything else is a 400). */
function booleanParam(req: ApiRequest, name: string): boolean {
  const raw = req.query.get(name);
  if (raw === null) return false;
  const value = raw.toLowerCase();
  if (['true', '1', 'on', 'yes'].includes(value)) return true;
  if (['false', '0', 'off', 'no'].includes(value)) return false;
  throw new BadRequest(`Invalid input for query parameters ${name}. Value: ${raw}. '${raw}' is not one of ['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']`);
}

/** The servers on each of these hosts. */
async function serversOn(hosts: Host[]): Promise<Map<string, Instance[]>> {
  const instances = await listAllInstances();
  return new Map(hosts.map((h) => [h.host, instances.filter((i) => i.host === h.host)]));
}

/** Hypervisors whose hostname contains the pattern (Nova: SQL LIKE %pattern%), or Nova's 404. */
async function matching(pattern: string): Promise<Host[]> {
  const found = (await listHosts()).filter((h) => h.host.includes(pattern)).sort(byName);
  if (found.length === 0) throw new NotFound(`No hypervisor matching '${pattern}' could be found.`);
  return found;
}

/** The list and detail calls: all hypervisors by name, from 2.33 one page of them, from 2.53 perhaps by pattern and with servers. */
async function listed(req: ApiRequest, collection: string, detail: boolean) {
  const now = Date.now();
  const mv = req.microversion;
  if (mv.atLeast('2.53')) rejectUnknownQuery(req, ['limit', 'marker', 'hypervisor_hostname_pattern', 'with_servers'], '2.53');
  const pattern = mv.atLeast('2.53') ? req.query.get('hypervisor_hostname_pattern') : null;
  const withServers = mv.atLeast('2.53') && booleanParam(req, 'with_servers');
  const show = async (hosts: Host[]) => {
    const servers = withServers ? await serversOn(hosts) : undefined;
    return hosts.map((h) => view(req, h, detail, now, servers?.get(h.host)));
  };
  if (pattern !== null) {
    if (req.query.has('limit') || req.query.get('marker')) {
      throw new BadRequest('Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.');
    }
    return { hypervisors: await show(await matching(pattern)) };
  }
  let hosts = (await listHosts()).sort(byName);
  if (!mv.atLeast('2.33')) return { hypervisors: await show(hosts) };
  const page = pageOf(req.query);
  if (page.marker !== undefined) {
    const idOf = (h: Host) => (mv.atLeast('2.53') ? computeNodeUuid(h) : String(legacyId(h.id)));
    const at = hosts.findIndex((h) => idOf(h) === page.marker);
    if (at < 0) throw new BadRequest(`marker [${page.marker}] not found`);
    hosts = hosts.slice(at + 1);
  }
  const hypervisors = await show(hosts.slice(0, page.limit));
  const links = nextLinks(req, collection, page, hypervisors.map((h) => String(h.id)));
  return { hypervisors, ...(links && { hypervisors_links: links }) };
}

/** One hypervisor by id: an integer before 2.53 (anything else is a 404), a UUID from it (anything else is a 400). */
async function findHypervisor(req: ApiRequest): Promise<Host> {
  const id = req.params.hypervisor_id;
  const notFound = () => new NotFound(`Hypervisor with ID '${id}' could not be found.`);
  const uuids = req.microversion.atLeast('2.53');
  if (uuids && !isUuidLike(id)) throw new BadRequest(`Invalid uuid ${id}`);
  if (!uuids && !/^\s*[-+]?\d+\s*$/.test(id)) throw notFound();
  const wanted = uuids ? canonicalUuid(id) : String(Number(id));
  const host = (await listHosts()).find((h) => (uuids ? computeNodeUuid(h) : String(legacyId(h.id))) === wanted);
  if (!host) throw notFound();
  return host;
}

/** A route whose last microversion is `last`: Nova's bare 404 after it. */
const until = (last: string, handler: (req: ApiRequest) => Promise<ApiResponse>) => async (req: ApiRequest) => {
  if (!Microversion.parse(last).atLeast(req.microversion.toString())) throw new NotFound('The resource could not be found.');
  return handler(req);
};

async function list(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:list');
  return json(200, await listed(req, 'os-hypervisors', false));
}

async function detail(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:list-detail');
  return json(200, await listed(req, 'os-hypervisors/detail', true));
}

async function show(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:show');
  const v253 = req.microversion.atLeast('2.53');
  if (v253) rejectUnknownQuery(req, ['with_servers'], '2.53');
  const withServers = v253 && booleanParam(req, 'with_servers');
  const host = await findHypervisor(req);
  const servers = withServers ? (await serversOn([host])).get(host.host) : undefined;
  return json(200, { hypervisor: view(req, host, true, Date.now(), servers) });
}

async function statistics(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:statistics');
  return json(200, { hypervisor_statistics: hypervisorStatistics(await listHosts()) });
}

async function search(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:search');
  const now = Date.now();
  return json(200, { hypervisors: (await matching(req.params.hypervisor_hostname_pattern)).map((h) => view(req, h, false, now)) });
}

/** Hypervisors whose hostname contains the pattern, each with the servers it runs (Nova below 2.53). */
async function servers(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:servers');
  const now = Date.now();
  const found = await matching(req.params.hypervisor_hostname_pattern);
  const on = await serversOn(found);
  return json(200, { hypervisors: found.map((h) => view(req, h, false, now, on.get(h.host))) });
}

/**
 * The `uptime` line the host's agent reports with its heartbeats (the output of `uptime` on the
 * host, as Nova's libvirt driver gives it). A down host cannot say: Nova's 400. An agent that
 * never reported one is a driver without uptime: Nova's 501.
 */
async function uptime(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-hypervisors:uptime');
  const host = await findHypervisor(req);
  const now = Date.now();
  if (hostState(host, now) === 'down') throw new BadRequest(`Compute service of ${host.host} is unavailable at this time.`);
  if (!host.uptime) throw new NotImplemented('Virt driver does not implement uptime function.');
  return json(200, { hypervisor: { ...view(req, host, false, now), uptime: host.uptime } });
}

export const hypervisorRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: list },
  { method: 'GET', path: `${BASE}/detail`, service: 'compute', handler: detail },
  { method: 'GET', path: `${BASE}/statistics`, service: 'compute', handler: until('2.87', statistics) },
  { method: 'GET', path: `${BASE}/{hypervisor_hostname_pattern}/search`, service: 'compute', handler: until('2.52', search) },
  { method: 'GET', path: `${BASE}/{hypervisor_hostname_pattern}/servers`, service: 'compute', handler: until('2.52', servers) },
  { method: 'GET', path: `${BASE}/{hypervisor_id}/uptime`, service: 'compute', handler: until('2.87', uptime) },
  { method: 'GET', path: `${BASE}/{hypervisor_id}`, service: 'compute', handler: show },
];
