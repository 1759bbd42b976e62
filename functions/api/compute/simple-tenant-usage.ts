import { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { BadRequest } from '../../../shared/errors.js';
import { VmState } from '../../../shared/domain/instance-states.js';
import { listDeletedInstances } from '../../../shared/store/deleted-instances.js';
import { listAllInstances, listProjectInstances } from '../../../shared/store/instances.js';
import { json, parseQuery } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { MAX_LIMIT, nextLinks, pageOf } from './links.js';
import { authorizeAdmin } from './policy.js';
import { rejectUnknownQuery } from './query-params.js';

/**
 * `os-simple-tenant-usage`: per project, the hours each server ran within [start, end) and its
 * flavor's resources times those hours, counting the servers deleted during the period up to
 * their deletion (state `terminated`), from the deleted servers' records (kept 30 days).
 * Servers are taken in Nova's order (project, then id), at most osapi_max_limit of them; from 2.40
 * `limit` and `marker` (a server id) page them, with a `next` link; from 2.75 other query
 * parameters are a 400.
 */
const Query = z.object({
  start: z.string().optional(),
  end: z.string().optional(),
  detailed: z.string().optional(),
});

const novaTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '').replace(/\.(\d{3})$/, '.$1000');

function period(req: ApiRequest): { start: number; end: number } {
  const q = parseQuery(req, Query);
  const parse = (text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const t = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text}Z`);
    if (Number.isNaN(t)) throw new BadRequest(`Invalid time format: ${text}`);
    return t;
  };
  const now = Date.now();
  const end = Math.min(parse(q.end, now), now);
  const start = parse(q.start, end);
  if (start > end) throw new BadRequest('Invalid start time. The start time cannot occur after the end time.');
  return { start, end };
}

const deletedAt = (i: Instance) => (i.vm_state === VmState.DELETED && i.deleted_at ? Date.parse(i.deleted_at) : undefined);

function serverUsage(i: Instance, start: number, end: number) {
  const launched = i.launched_at ? Date.parse(i.launched_at) : Date.parse(i.created_at);
  const ended = deletedAt(i);
  const from = Math.max(launched, start);
  const hours = Math.max(0, Math.min(end, ended ?? end) - from) / 3_600_000;
  return {
    ended_at: ended === undefined ? null : novaTime(ended),
    flavor: i.flavor.name,
    hours,
    instance_id: i.id,
    local_gb: i.flavor.disk + i.flavor.ephemeral,
    memory_mb: i.flavor.ram,
    name: i.name,
    started_at: novaTime(launched),
    state: ended === undefined ? i.vm_state : 'terminated',
    tenant_id: i.project_id,
    uptime: Math.floor((end - launched) / 1000),
    vcpus: i.flavor.vcpus,
  };
}

function tenantUsage(projectId: string, servers: Instance[], start: number, end: number, detailed: boolean) {
  const usages = servers.map((i) => serverUsage(i, start, end));
  const sum = (f: (u: ReturnType<typeof serverUsage>) => number) => usages.reduce((n, u) => n + f(u), 0);
  return {
    ...(detailed && { server_usages: usages }),
    start: novaTime(start),
    stop: novaTime(end),
    tenant_id: projectId,
    total_hours: sum((u) => u.hours),
    total_local_gb_usage: sum((u) => u.hours * u.local_gb),
    total_memory_mb_usage: sum((u) => u.hours * u.memory_mb),
    total_vcpus_usage: sum((u) => u.hours * u.vcpus),
  };
}

/**
 * The servers that were running during some of the period (launched before its end), in Nova's
 * order (project, then id): one page of them, and the page's `next` link (2.40).
 */
function pageInPeriod(req: ApiRequest, servers: Instance[], start: number, end: number, collection: string) {
  const paging = req.microversion.atLeast('2.40');
  rejectUnknownQuery(req, ['start', 'end', ...(collection === 'os-simple-tenant-usage' ? ['detailed'] : []), 'limit', 'marker']);
  const page = paging ? pageOf(req.query) : { limit: MAX_LIMIT, limitGiven: false };
  let running = servers
    .filter((i) => Date.parse(i.launched_at ?? i.created_at) < end && (deletedAt(i) ?? Infinity) >= start)
    .sort((a, b) => a.project_id.localeCompare(b.project_id) || a.id.localeCompare(b.id));
  if (page.marker !== undefined) {
    const at = running.findIndex((i) => i.id === page.marker);
    if (at < 0) throw new BadRequest(`Marker ${page.marker} could not be found.`);
    running = running.slice(at + 1);
  }
  const shown = running.slice(0, page.limit);
  return { shown, links: paging ? nextLinks(req, collection, page, shown.map((i) => i.id)) : undefined };
}

async function index(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-simple-tenant-usage:list');
  const { start, end } = period(req);
  const detailed = req.query.get('detailed') === '1';
  const { shown, links } = pageInPeriod(req, [...(await listAllInstances()), ...(await listDeletedInstances())], start, end, 'os-simple-tenant-usage');
  const byProject = new Map<string, Instance[]>();
  for (const i of shown) byProject.set(i.project_id, [...(byProject.get(i.project_id) ?? []), i]);
  return json(200, {
    tenant_usages: [...byProject].map(([projectId, servers]) => tenantUsage(projectId, servers, start, end, detailed)),
    ...(links && { tenant_usages_links: links }),
  });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  const projectId = req.params.tenant_id;
  if (projectId !== req.auth.project_id) authorizeAdmin(req, 'os_compute_api:os-simple-tenant-usage:show');
  const { start, end } = period(req);
  const { shown, links } = pageInPeriod(req, [...(await listProjectInstances(projectId)), ...(await listDeletedInstances(projectId))], start, end, `os-simple-tenant-usage/${projectId}`);
  return json(200, { tenant_usage: shown.length ? tenantUsage(projectId, shown, start, end, true) : {}, ...(links && { tenant_usage_links: links }) });
}

export const simpleTenantUsageRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-simple-tenant-usage', service: 'compute', handler: index },
  { method: 'GET', path: '/compute/v2.1/os-simple-tenant-usage/{tenant_id}', service: 'compute', handler: show },
];
