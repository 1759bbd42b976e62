import { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { BadRequest, Forbidden } from '../../../shared/errors.js';
import { listDeletedInstances } from '../../../shared/store/deleted-instances.js';
import { listAllInstances, listProjectInstances } from '../../../shared/store/instances.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';
import { nextLinks, pageOf } from './links.js';
import { AccessIPv4, AccessIPv6, createServer, Fqdn, Hostname, ServerDescription, ServerName } from './server-create.js';
import { loadInstance, modifyInstance } from './server-access.js';
import { deleteServer } from './server-delete.js';
import { checkListQuery, columnFilterOf, statusFilterOf } from './server-list-query.js';
import { hostsOf, serverDetail, serverGroupsOf, serverSummary } from './views/server-view.js';

const BASE = '/compute/v2.1/servers';

/** Sort keys Nova accepts for servers (a subset: those this record has). */
const SORT_KEYS: Record<string, (i: Instance) => string> = {
  created_at: (i) => i.created_at,
  updated_at: (i) => i.updated_at,
  display_name: (i) => i.name,
  uuid: (i) => i.id,
  vm_state: (i) => i.vm_state,
  task_state: (i) => i.task_state ?? '',
  host: (i) => i.host ?? '',
  launched_at: (i) => i.launched_at ?? '',
  display_description: (i) => i.description ?? '',
  hostname: (i) => i.hostname,
  key_name: (i) => i.key_name ?? '',
  availability_zone: (i) => i.availability_zone ?? '',
  project_id: (i) => i.project_id,
  user_id: (i) => i.user_id,
  image_ref: (i) => i.image_ref,
  node: (i) => i.host ?? '',
  power_state: (i) => String(i.power_state),
  launch_index: (i) => String(i.launch_index).padStart(10, '0'),
  access_ip_v4: (i) => i.access_ip_v4,
  access_ip_v6: (i) => i.access_ip_v6,
  config_drive: (i) => (i.config_drive ? 'True' : ''),
};
/** Nova's SERVER_LIST_IGNORE_SORT_KEY. */
const IGNORED_SORT_KEYS = new Set([
  'architecture', 'cell_name', 'cleaned', 'default_ephemeral_device', 'default_swap_device', 'deleted', 'deleted_at', 'disable_terminate',
  'ephemeral_gb', 'ephemeral_key_uuid', 'id', 'key_data', 'launched_on', 'locked', 'memory_mb', 'os_type', 'reservation_id', 'root_gb',
  'shutdown_terminate', 'user_data', 'vcpus', 'vm_mode',
]);
/** 2.73 makes `locked` a sort key (before, Nova ignores it). */
const lockedKey = (i: Instance) => (i.locked ? '1' : '0');

/** The servers a list request selects, sorted and paged as Nova does. */
async function selectServers(req: ApiRequest): Promise<{ servers: Instance[]; links?: unknown }> {
  const q = req.query;
  checkListQuery(req);
  const statusMatch = statusFilterOf(req);
  if (statusMatch === 'empty') return { servers: [] };
  const allTenants = q.has('all_tenants') && !['0', 'false', 'False'].includes(q.get('all_tenants') ?? '');
  if (allTenants && !isAdmin(req.auth)) throw new Forbidden("Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.");
  // As in Nova, project_id / tenant_id only narrow an all_tenants listing; without it they are ignored.
  const projectFilter = allTenants ? (q.get('project_id') ?? q.get('tenant_id')) : null;
  const scope = deletedScope(req);
  const project = allTenants ? undefined : req.auth.project_id;
  let servers = [
    ...(scope === 'deleted' ? [] : project ? await listProjectInstances(project) : await listAllInstances()),
    ...(scope === 'live' ? [] : await listDeletedInstances(project)),
  ];
  if (projectFilter) servers = servers.filter((i) => i.project_id === projectFilter);

  const name = q.get('name');
  if (name) {
    const re = regexOf('name', name);
    servers = servers.filter((i) => re.test(i.name));
  }
  const ipMatch = ipFilterOf(req);
  if (ipMatch) servers = servers.filter(ipMatch);
  const tagMatch = tagFilterOf(req);
  if (tagMatch) servers = servers.filter(tagMatch);
  if (statusMatch) servers = servers.filter(statusMatch);
  const image = q.get('image');
  if (image) servers = servers.filter((i) => i.image_ref === image.split('/').pop());
  const flavor = q.get('flavor');
  if (flavor) servers = servers.filter((i) => i.flavor.id === flavor.split('/').pop());
  const reservation = q.get('reservation_id');
  if (reservation) servers = servers.filter((i) => i.reservation_id === reservation);
  const host = q.get('host');
  if (host && isAdmin(req.auth)) servers = servers.filter((i) => i.host === host);
  const columnMatch = columnFilterOf(req);
  if (columnMatch) servers = servers.filter(columnMatch);
  const since = q.get('changes-since');
  if (since) {
    // Nova's schema takes an ISO 8601 date-time (iso8601.parse_date); Date.parse alone would also take "2011/01/01".
    const t = ISO_8601.test(since) ? Date.parse(since) : NaN;
    if (Number.isNaN(t)) throw new BadRequest('Invalid filter field: changes-since.');
    servers = servers.filter((i) => Date.parse(i.updated_at) >= t);
  }
  const before = req.microversion.atLeast('2.66') ? q.get('changes-before') : null;
  if (before) {
    const t = ISO_8601.test(before) ? Date.parse(before) : NaN;
    if (Number.isNaN(t)) throw new BadRequest('Invalid filter field: changes-before.');
    if (since && ISO_8601.test(since) && t < Date.parse(since)) throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
    servers = servers.filter((i) => Date.parse(i.updated_at) <= t);
  }

  const askedKey = q.get('sort_key') ?? 'created_at';
  // Nova ignores the keys it once took but calls bad (`locked` until 2.73); from 2.75 its schema refuses them.
  const ignored = IGNORED_SORT_KEYS.has(askedKey) && !(askedKey === 'locked' && req.microversion.atLeast('2.73'));
  if (ignored && req.microversion.atLeast('2.75')) throw new BadRequest(`Invalid input for query parameters sort_key. Value: ${askedKey}.`);
  const sortKey = ignored ? 'created_at' : askedKey;
  const sortDir = q.get('sort_dir') ?? 'desc';
  const keyOf = sortKey === 'locked' && req.microversion.atLeast('2.73') ? lockedKey : SORT_KEYS[sortKey];
  if (!keyOf) throw new BadRequest(`Invalid sort_key ${sortKey}`);
  if ((sortKey === 'host' || sortKey === 'node') && !isAdmin(req.auth)) throw new Forbidden(`Only administrators can sort servers by ${sortKey}`);
  if (sortDir !== 'asc' && sortDir !== 'desc') throw new BadRequest(`Invalid sort_dir ${sortDir}`);
  const sign = sortDir === 'asc' ? 1 : -1;
  servers.sort((a, b) => sign * (keyOf(a).localeCompare(keyOf(b)) || a.id.localeCompare(b.id)));

  const page = pageOf(q);
  if (page.marker) {
    const at = servers.findIndex((i) => i.id === page.marker);
    if (at < 0) throw new BadRequest(`marker [${page.marker}] not found`);
    servers = servers.slice(at + 1);
  }
  // Nova's get_limit_and_marker: limit=0 is an empty page (pageOf reads 0 as "no limit", as Nova's `limited` does for other lists).
  servers = servers.slice(0, page.limitGiven && Number(q.get('limit')) === 0 ? 0 : page.limit);
  return { servers, links: nextLinks(req, 'servers', page, servers.map((i) => i.id)) };
}

/**
 * Which servers a list reads, as Nova's _get_servers decides: deleted ones only with `deleted`
 * true (admins; others' `deleted` is ignored) or `vm_state=deleted`, live ones only by default,
 * both when `changes-since` or `changes-before` asks what changed.
 */
function deletedScope(req: ApiRequest): 'live' | 'deleted' | 'both' {
  const q = req.query;
  const admin = isAdmin(req.auth);
  if (q.get('vm_state') === 'deleted') {
    if (!admin) throw new Forbidden('Only administrators may list deleted instances');
    return 'deleted';
  }
  if (admin && q.has('deleted')) return ['true', 't', '1', 'yes', 'y', 'on'].includes((q.get('deleted') ?? '').toLowerCase()) ? 'deleted' : 'live';
  if (q.has('changes-since') || (req.microversion.atLeast('2.66') && q.has('changes-before'))) return 'both';
  return 'live';
}

/** An ISO 8601 date or date-time, as iso8601.parse_date takes it ("2011-01-01", "2011-01-01T12:00:00.5+01:00"). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

function regexOf(field: string, pattern: string, flags?: string): RegExp {
  try {
    return new RegExp(pattern, flags);
  } catch {
    throw new BadRequest(`Invalid regular expression for ${field}: ${pattern}`);
  }
}

/**
 * `ip` and `ip6` (Nova's _ip_filter): a server matches when one of its fixed addresses of that
 * version matches the pattern from its start (Python's re.match). Non-admins have `ip6` from 2.5.
 */
function ipFilterOf(req: ApiRequest): ((i: Instance) => boolean) | undefined {
  const ip = req.query.get('ip');
  const ip6 = isAdmin(req.auth) || req.microversion.atLeast('2.5') ? req.query.get('ip6') : null;
  if (ip === null && ip6 === null) return undefined;
  // Sticky, with lastIndex reset before each test: a match must start at the address's first character.
  const patterns = { 4: ip === null ? null : regexOf('ip', ip, 'y'), 6: ip6 === null ? null : regexOf('ip6', ip6, 'y') };
  return (i) =>
    Object.values(i.addresses)
      .flat()
      .some((a) => {
        const re = a.type === 'fixed' ? patterns[a.version] : null;
        if (!re) return false;
        re.lastIndex = 0;
        return re.test(a.addr);
      });
}

/**
 * The tag filters of 2.26, each a comma-separated list: `tags` (has all), `tags-any` (has one),
 * `not-tags` (lacks one of them), `not-tags-any` (has none).
 */
function tagFilterOf(req: ApiRequest): ((i: Instance) => boolean) | undefined {
  if (!req.microversion.atLeast('2.26')) return undefined;
  const list = (key: string) => req.query.get(key)?.split(',');
  const [all, any, notAll, notAny] = [list('tags'), list('tags-any'), list('not-tags'), list('not-tags-any')];
  if (!all && !any && !notAll && !notAny) return undefined;
  return ({ tags }) =>
    (!all || all.every((t) => tags.includes(t))) &&
    (!any || any.some((t) => tags.includes(t))) &&
    (!notAll || !notAll.every((t) => tags.includes(t))) &&
    (!notAny || !notAny.some((t) => tags.includes(t)));
}

async function listServers(req: ApiRequest): Promise<ApiResponse> {
  const { servers, links } = await selectServers(req);
  return json(200, { servers: servers.map((i) => serverSummary(req, i)), ...(links ? { servers_links: links } : {}) });
}

async function listServersDetail(req: ApiRequest): Promise<ApiResponse> {
  const { servers, links } = await selectServers(req);
  const hosts = await hostsOf(req, servers);
  return json(200, { servers: servers.map((i) => serverDetail(req, i, { hosts })), ...(links ? { servers_links: links } : {}) });
}

async function showServer(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  return json(200, { server: serverDetail(req, instance, { hosts: await hostsOf(req, [instance]), serverGroups: await serverGroupsOf(req, instance) }) });
}

const UpdateFields = z.strictObject({
  name: ServerName.optional(),
  accessIPv4: AccessIPv4.optional(),
  accessIPv6: AccessIPv6.optional(),
  'OS-DCF:diskConfig': z.enum(['AUTO', 'MANUAL']).optional(),
});
const UpdateServerSchema = z.strictObject({ server: UpdateFields });
/** 2.19 adds `description`: a string, or null to remove it. */
const UpdateFieldsV219 = UpdateFields.extend({ description: ServerDescription.optional() });
const UpdateServerSchemaV219 = z.strictObject({ server: UpdateFieldsV219 });
/** 2.90 adds `hostname`; 2.94 lets it be a fully qualified name. */
const UpdateServerSchemaV290 = z.strictObject({ server: UpdateFieldsV219.extend({ hostname: Hostname.optional() }) });
const UpdateServerSchemaV294 = z.strictObject({ server: UpdateFieldsV219.extend({ hostname: Fqdn.optional() }) });

function updateSchemaOf(req: ApiRequest) {
  const mv = req.microversion;
  return mv.atLeast('2.94') ? UpdateServerSchemaV294 : mv.atLeast('2.90') ? UpdateServerSchemaV290 : mv.atLeast('2.19') ? UpdateServerSchemaV219 : UpdateServerSchema;
}

async function updateServer(req: ApiRequest): Promise<ApiResponse> {
  const server: z.infer<typeof UpdateServerSchemaV294>['server'] = parseBody(req, updateSchemaOf(req)).server;
  const changes = {
    ...(server.name ? { name: server.name } : {}),
    ...(server.accessIPv4 !== undefined ? { access_ip_v4: server.accessIPv4 } : {}),
    ...(server.accessIPv6 !== undefined ? { access_ip_v6: server.accessIPv6 } : {}),
    ...(server.description !== undefined ? { description: server.description } : {}),
    ...(server.hostname !== undefined ? { hostname: server.hostname } : {}),
  };
  const updated = await modifyInstance(req, () => changes);
  const options = { changeResponse: true, serverGroups: await serverGroupsOf(req, updated), hosts: await hostsOf(req, [updated]) };
  return json(200, { server: serverDetail(req, updated, options) });
}

export const serverRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: listServers },
  { method: 'POST', path: BASE, service: 'compute', handler: createServer },
  { method: 'GET', path: `${BASE}/detail`, service: 'compute', handler: listServersDetail },
  { method: 'GET', path: `${BASE}/{server_id}`, service: 'compute', handler: showServer },
  { method: 'PUT', path: `${BASE}/{server_id}`, service: 'compute', handler: updateServer },
  { method: 'DELETE', path: `${BASE}/{server_id}`, service: 'compute', handler: deleteServer },
];
