import { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { Conflict, NotFound } from '../../../shared/errors.js';
import { getInstance, updateInstance, type InstanceChanges } from '../../../shared/store/instances.js';
import type { ApiRequest } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';

/** The instance named in the path, if the caller may see it (another project's server is a 404, as in Nova). */
export async function loadInstance(req: ApiRequest, id = req.params.server_id): Promise<Instance> {
  const notFound = new NotFound(`Instance ${id} could not be found.`);
  if (!z.string().uuid().safeParse(id).success) throw notFound;
  const instance = await getInstance(id);
  if (!instance || (instance.project_id !== req.auth.project_id && !isAdmin(req.auth))) throw notFound;
  return instance;
}

/** Locked servers refuse actions from non-admins (Nova's check_instance_lock). */
export function checkNotLocked(req: ApiRequest, i: Instance): void {
  if (i.locked && !isAdmin(req.auth)) throw new Conflict(`Instance ${i.id} is locked`);
}

/**
 * Applies a change computed from the current record, re-reading and retrying when a parallel
 * writer got there first (every write is conditional on the version read). A change of `null`
 * writes nothing and returns the record as read. `attempts` bounds the retries: each lost race
 * means another writer's change went in, so N parallel writers need at most N attempts.
 */
export async function modifyInstance(req: ApiRequest, change: (i: Instance) => InstanceChanges | null, attempts = 5): Promise<Instance> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const current = await loadInstance(req);
    const changes = change(current);
    if (!changes) return current;
    const updated = await updateInstance(current, changes);
    if (updated) return updated;
    // Jitter, so writers that lost together do not collide again.
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 10 * attempt)));
  }
  throw new Conflict('The server was changed by another request at the same time; try again.');
}
