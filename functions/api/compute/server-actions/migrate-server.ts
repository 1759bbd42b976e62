import { z } from 'zod';
import { InstanceActionName } from '../../../../shared/domain/instance-states.js';
import { BadRequest } from '../../../../shared/errors.js';
import { getHost } from '../../../../shared/store/hosts.js';
import { validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { authorizeAdmin } from '../policy.js';
import { startMove } from './resize-start.js';
import type { ServerAction } from './server-action.js';

/** 2.56: `{"migrate": null}` or `{"migrate": {"host": ...}}` (a host name, or null for the scheduler's choice). */
const MigrateSchemaV256 = z.strictObject({ host: z.string().min(1).max(255).regex(/^[A-Za-z0-9._-]+$/).nullable().optional() }).nullable();

/**
 * `migrate` (admins): a cold migration, Nova's resize to the same flavor on another host, the
 * scheduler's choice or, from 2.56, the admin's `host` (filters still run). 202; VERIFY_RESIZE on
 * the new host once there, confirmed or reverted as a resize.
 */
async function migrate(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  const host = req.microversion.atLeast('2.56') ? (validate(MigrateSchemaV256, body)?.host ?? null) : null;
  authorizeAdmin(req, host ? 'os_compute_api:os-migrate-server:migrate:host' : 'os_compute_api:os-migrate-server:migrate');
  await startMove(req, {
    action: InstanceActionName.MIGRATE,
    newFlavor: async (i) => i.flavor,
    requestedHost: host,
    check: async (i) => {
      if (!host) return;
      if (host === i.host) throw new BadRequest('Cannot migrate to the host where the server exists.');
      if (!(await getHost(host))) throw new BadRequest(`Compute host ${host} could not be found.`);
    },
  });
  return { status: 202 };
}

export const migrateServerActions: ServerAction[] = [{ name: 'migrate', handle: migrate }];
