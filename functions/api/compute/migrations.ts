import { z } from 'zod';
import { BadRequest, InstanceInvalidState, NotFound } from '../../../shared/errors.js';
import { json, parseQuery } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { pageOf } from './links.js';
import { authorizeAdmin } from './policy.js';
import { rejectUnknownQuery } from './query-params.js';
import { loadInstance } from './server-access.js';

/**
 * `os-migrations` and a server's `migrations` (2.23): servers do not move between hosts here yet
 * (resize, migration and evacuation are issue #10), so there is none to list, show, force or
 * abort; the parameters are still checked as Nova checks them at each microversion: 2.59 adds
 * `limit`, `marker` (a migration uuid, never found here) and `changes-since` and rejects unknown
 * parameters; 2.66 adds `changes-before`; 2.80 adds `user_id` and `project_id`.
 */
const FILTERS = ['hidden', 'host', 'instance_uuid', 'source_compute', 'status', 'migration_type'];

const isoTime = z.iso.datetime({ offset: true, local: true });
const Times = z.object({ 'changes-since': isoTime.optional(), 'changes-before': isoTime.optional() });

/** The query of GET /os-migrations at the request's microversion, as Nova's index_query schemas take it. */
function checkListQuery(req: ApiRequest): void {
  const mv = req.microversion;
  if (!mv.atLeast('2.59')) return;
  const allowed = [...FILTERS, 'limit', 'marker', 'changes-since', ...(mv.atLeast('2.66') ? ['changes-before'] : []), ...(mv.atLeast('2.80') ? ['user_id', 'project_id'] : [])];
  rejectUnknownQuery(req, allowed, '2.59');
  const times = parseQuery(req, Times);
  const page = pageOf(req.query);
  if (times['changes-since'] && times['changes-before'] && Date.parse(times['changes-before']) < Date.parse(times['changes-since'])) {
    throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
  }
  if (page.marker !== undefined) throw new BadRequest(`Marker ${page.marker} could not be found.`);
}

async function listMigrations(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-migrations:index');
  checkListQuery(req);
  return json(200, { migrations: [] });
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

/** 2.23: an in-progress live migration of the server; there is never one here. */
async function showServerMigration(req: ApiRequest): Promise<ApiResponse> {
  notBefore(req, '2.23');
  authorizeAdmin(req, 'os_compute_api:servers:migrations:show');
  const instance = await loadInstance(req);
  throw new NotFound(`In-progress live migration ${req.params.migration_id} is not found for server ${instance.id}.`);
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
  { method: 'GET', path: '/compute/v2.1/os-migrations', service: 'compute', handler: listMigrations },
  { method: 'GET', path: '/compute/v2.1/servers/{server_id}/migrations', service: 'compute', handler: listServerMigrations },
  { method: 'GET', path: '/compute/v2.1/servers/{server_id}/migrations/{migration_id}', service: 'compute', handler: showServerMigration },
  { method: 'DELETE', path: '/compute/v2.1/servers/{server_id}/migrations/{migration_id}', service: 'compute', handler: notMigrating('abort live migration', '2.24', 'os_compute_api:servers:migrations:delete') },
  { method: 'POST', path: '/compute/v2.1/servers/{server_id}/migrations/{migration_id}/action', service: 'compute', handler: serverMigrationAction },
];
