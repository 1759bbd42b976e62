import { z } from 'zod';
import { flavorNumber, type Migration } from '../../../shared/domain/migration.js';
import { BadRequest, InstanceInvalidState, NotFound } from '../../../shared/errors.js';
import { listMigrations } from '../../../shared/store/migrations.js';
import { json, parseQuery } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { nextLinks, pageOf } from './links.js';
import { authorizeAdmin } from './policy.js';
import { rejectUnknownQuery } from './query-params.js';
import { novaTime } from './server-actions/instance-actions.js';
import { loadInstance } from './server-access.js';

/**
 * `os-migrations` (admins): every resize and cold migration, with Nova's filters and the fields
 * of each microversion (2.23 `migration_type`, 2.59 `uuid` and paging newest first, 2.80
 * `user_id` and `project_id`). A server's `migrations` (2.23) list only its live migrations in
 * progress, as Nova's do: there are none here (no live migration yet), so there is none to
 * show, force or abort either.
 */
const FILTERS = ['hidden', 'host', 'instance_uuid', 'source_compute', 'status', 'migration_type'];

const isoTime = z.iso.datetime({ offset: true, local: true });
const Times = z.object({ 'changes-since': isoTime.optional(), 'changes-before': isoTime.optional() });

interface ListQuery {
  since?: number;
  before?: number;
  page?: ReturnType<typeof pageOf>;
}

/** The query of GET /os-migrations at the request's microversion, as Nova's index_query schemas take it. */
function checkListQuery(req: ApiRequest): ListQuery {
  const mv = req.microversion;
  if (!mv.atLeast('2.59')) return {};
  const allowed = [...FILTERS, 'limit', 'marker', 'changes-since', ...(mv.atLeast('2.66') ? ['changes-before'] : []), ...(mv.atLeast('2.80') ? ['user_id', 'project_id'] : [])];
  rejectUnknownQuery(req, allowed, '2.59');
  const times = parseQuery(req, Times);
  if (times['changes-since'] && times['changes-before'] && Date.parse(times['changes-before']) < Date.parse(times['changes-since'])) {
    throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
  }
  const parse = (t: string | undefined) => (t === undefined ? undefined : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`));
  return { since: parse(times['changes-since']), before: mv.atLeast('2.66') ? parse(times['changes-before']) : undefined, page: pageOf(req.query) };
}

/** Nova's migration_get_all_by_filters: `host` is either end, `source_compute` only when `host` is absent. */
function matches(m: Migration, q: URLSearchParams, mv: ApiRequest['microversion'], times: ListQuery): boolean {
  const is = (name: string, value: string | null) => !q.has(name) || q.get(name) === value;
  if (q.has('host') ? !(q.get('host') === m.source_compute || q.get('host') === m.dest_compute) : !is('source_compute', m.source_compute)) return false;
  if (!is('instance_uuid', m.instance_uuid) || !is('status', m.status) || !is('migration_type', m.migration_type)) return false;
  if (mv.atLeast('2.80') && (!is('user_id', m.user_id) || !is('project_id', m.project_id))) return false;
  if (times.since !== undefined && Date.parse(m.updated_at) < times.since) return false;
  if (times.before !== undefined && Date.parse(m.updated_at) > times.before) return false;
  return true;
}

/** A migration as Nova's API shows it at the request's microversion. */
function migrationView(req: ApiRequest, m: Migration): Record<string, unknown> {
  const mv = req.microversion;
  return {
    created_at: novaTime(m.created_at),
    dest_compute: m.dest_compute,
    dest_host: m.dest_host,
    dest_node: m.dest_node,
    id: m.id,
    instance_uuid: m.instance_uuid,
    new_instance_type_id: flavorNumber(m.new_flavor_id),
    old_instance_type_id: flavorNumber(m.old_flavor_id),
    source_compute: m.source_compute,
    source_node: m.source_node,
    status: m.status,
    updated_at: novaTime(m.updated_at),
    ...(mv.atLeast('2.23') && { migration_type: m.migration_type }),
    ...(mv.atLeast('2.59') && { uuid: m.uuid }),
    ...(mv.atLeast('2.80') && { user_id: m.user_id, project_id: m.project_id }),
  };
}

async function listMigrationsRoute(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-migrations:index');
  const query = checkListQuery(req);
  const all = await listMigrations();
  if (!query.page) {
    const found = all.filter((m) => matches(m, req.query, req.microversion, query)).sort((a, b) => a.id - b.id);
    return json(200, { migrations: found.map((m) => migrationView(req, m)) });
  }
  // 2.59: newest first (created_at, then id, descending), paged by uuid.
  const newestFirst = (a: Migration, b: Migration) => b.created_at.localeCompare(a.created_at) || b.id - a.id;
  const sorted = all.filter((m) => matches(m, req.query, req.microversion, query)).sort(newestFirst);
  const { page } = query;
  let start = 0;
  if (page.marker !== undefined) {
    const marker = all.find((m) => m.uuid === page.marker);
    if (!marker) throw new BadRequest(`Marker ${page.marker} could not be found.`);
    // The page starts after the marker's place in the order, whether or not the filters keep the marker itself.
    start = sorted.findIndex((m) => newestFirst(marker, m) < 0);
    if (start < 0) start = sorted.length;
  }
  const shown = sorted.slice(start, start + page.limit);
  const links = nextLinks(req, 'os-migrations', page, shown.map((m) => m.uuid));
  return json(200, { migrations: shown.map((m) => migrationView(req, m)), ...(links && { migrations_links: links }) });
}

const notBefore = (req: ApiRequest, version: string) => {
  if (!req.microversion.atLeast(version)) throw new NotFound('The resource could not be found.');
};

async function listServerMigrations(req: ApiRequest): Promise<ApiResponse> {
  notBefore(req, '2.23');
  authorizeAdmin(req, 'os_compute_api:servers:migrations:index');
  await loadInstance(req);
  return json(200, { migrations: [] });
}

/** 2.23: an in-progress live migration of the server; a resize or cold migration is not one (Nova's 404s). */
async function showServerMigration(req: ApiRequest): Promise<ApiResponse> {
  notBefore(req, '2.23');
  authorizeAdmin(req, 'os_compute_api:servers:migrations:show');
  const instance = await loadInstance(req);
  const id = req.params.migration_id;
  const migration = (await listMigrations()).find((m) => String(m.id) === id && m.instance_uuid === instance.id);
  if (migration) throw new NotFound(`Migration ${id} for server ${instance.id} is not live-migration.`);
  throw new NotFound(`In-progress live migration ${id} is not found for server ${instance.id}.`);
}

/**
 * Force-complete (2.22) and abort (2.24; 2.65 adds queued and preparing migrations) need the
 * server ACTIVE and live-migrating (task_state migrating), which it never is here: Nova's 409.
 */
function notMigrating(action: string, since: string, rule: string) {
  return async (req: ApiRequest): Promise<ApiResponse> => {
    notBefore(req, since);
    authorizeAdmin(req, rule);
    const instance = await loadInstance(req);
    if (instance.vm_state !== 'active') throw new InstanceInvalidState(action, 'vm_state', instance.vm_state, instance.id);
    throw new InstanceInvalidState(action, 'task_state', instance.task_state ?? 'None', instance.id);
  };
}

const ForceCompleteSchema = z.strictObject({ force_complete: z.null() });

async function serverMigrationAction(req: ApiRequest): Promise<ApiResponse> {
  notBefore(req, '2.22');
  const body = (() => {
    try {
      return JSON.parse(req.body.toString('utf8')) as unknown;
    } catch {
      throw new BadRequest('Malformed request body');
    }
  })();
  const parsed = ForceCompleteSchema.safeParse(body);
  if (!parsed.success) throw new BadRequest('Invalid input for field/attribute force_complete. Value: must be null.');
  return notMigrating('force_complete', '2.22', 'os_compute_api:servers:migrations:force_complete')(req);
}

export const migrationRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-migrations', service: 'compute', handler: listMigrationsRoute },
  { method: 'GET', path: '/compute/v2.1/servers/{server_id}/migrations', service: 'compute', handler: listServerMigrations },
  { method: 'GET', path: '/compute/v2.1/servers/{server_id}/migrations/{migration_id}', service: 'compute', handler: showServerMigration },
  { method: 'DELETE', path: '/compute/v2.1/servers/{server_id}/migrations/{migration_id}', service: 'compute', handler: notMigrating('abort live migration', '2.24', 'os_compute_api:servers:migrations:delete') },
  { method: 'POST', path: '/compute/v2.1/servers/{server_id}/migrations/{migration_id}/action', service: 'compute', handler: serverMigrationAction },
];
