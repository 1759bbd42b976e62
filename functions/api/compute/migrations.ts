import { z } from 'zod';
import { NotFound } from '../../../shared/errors.js';
import { json, parseQuery } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';
import { loadInstance } from './server-access.js';

/**
 * `os-migrations` and a server's `migrations` (2.23): servers do not move between hosts here yet
 * (resize, migration and evacuation are issue #10), so there is none to list; the filters are
 * still checked, as Nova checks them.
 */
const Filters = z.object({
  host: z.string().optional(),
  status: z.string().optional(),
  instance_uuid: z.string().optional(),
  migration_type: z.enum(['evacuation', 'live-migration', 'migration', 'resize']).optional(),
  source_compute: z.string().optional(),
  hidden: z.string().optional(),
  limit: z.coerce.number().int().min(0).optional(),
  marker: z.string().optional(),
  'changes-since': z.iso.datetime({ offset: true, local: true }).optional(),
});

async function listMigrations(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-migrations:index');
  parseQuery(req, Filters);
  return json(200, { migrations: [] });
}

async function listServerMigrations(req: ApiRequest): Promise<ApiResponse> {
  if (!req.microversion.atLeast('2.23')) throw new NotFound('The resource could not be found.');
  authorizeAdmin(req, 'os_compute_api:servers:migrations:index');
  await loadInstance(req);
  return json(200, { migrations: [] });
}

export const migrationRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-migrations', service: 'compute', handler: listMigrations },
  { method: 'GET', path: '/compute/v2.1/servers/{server_id}/migrations', service: 'compute', handler: listServerMigrations },
];
