import { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import type { ServerGroup } from '../../../shared/domain/server-group.js';
import { BadRequest, Forbidden, QuotaExceeded } from '../../../shared/errors.js';
import { listHosts } from '../../../shared/store/hosts.js';
import { getServerGroup } from '../../../shared/store/server-groups.js';
import { isConditionFailure } from '../../../shared/store/table.js';
import type { ApiRequest } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';

/**
 * The scheduler hints a boot may give (Nova's `_hints` schema, the ones this scheduler reads):
 * `group` (a server group), `same_host` and `different_host` (servers, one or a list). Other
 * hints are accepted and ignored, as Nova ignores hints no enabled filter reads.
 */
const Uuid = z.string().uuid();
const OneOrMany = z.union([Uuid, z.array(Uuid)]).transform((v) => (Array.isArray(v) ? v : [v]));
const HintsSchema = z.looseObject({
  group: z.union([Uuid, z.array(Uuid).length(1).transform(([id]) => id)]).optional(),
  same_host: OneOrMany.optional(),
  different_host: OneOrMany.optional(),
});

export interface RequestedPlacement {
  group?: ServerGroup;
  hints: Instance['scheduler_hints'];
  /** Nova's forced host (`availability_zone` `zone:host`, admins only): the filters are skipped. */
  forcedHost: string | null;
  /** The zone part of `availability_zone`. */
  zone: string | undefined;
}

export async function requestedPlacement(req: ApiRequest, rawHints: Record<string, unknown> | undefined, availabilityZone: string | undefined): Promise<RequestedPlacement> {
  const parsed = HintsSchema.safeParse(rawHints ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequest(`Invalid input for field/attribute ${issue?.path.join('/') || 'scheduler_hints'}. Value: ${issue?.message}`);
  }
  const { group: groupId, same_host, different_host } = parsed.data;
  const [zone, forcedHost] = await zoneAndForcedHost(req, availabilityZone);
  return {
    group: groupId ? await visibleGroup(req, groupId) : undefined,
    hints: { ...(same_host && { same_host }), ...(different_host && { different_host }) },
    forcedHost,
    zone,
  };
}

/** `zone`, `zone:host`, `zone:host:node` or `:host` (Nova's parse_availability_zone); a host only for admins. */
async function zoneAndForcedHost(req: ApiRequest, value: string | undefined): Promise<[string | undefined, string | null]> {
  if (!value?.includes(':')) return [value, null];
  const [zone, host] = value.split(':');
  if (!host) return [zone || undefined, null];
  if (!isAdmin(req.auth)) throw new Forbidden("Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.");
  if (!(await listHosts()).some((h) => h.host === host)) throw new BadRequest(`Compute host ${host} could not be found.`);
  return [zone || undefined, host];
}

/** The server group a `group` hint names: the caller's project's (or any, for admins); Nova's 400 otherwise. */
async function visibleGroup(req: ApiRequest, id: string): Promise<ServerGroup> {
  const group = await getServerGroup(id);
  if (!group || (group.project_id !== req.auth.project_id && !isAdmin(req.auth))) throw new BadRequest(`Instance group ${id} could not be found.`);
  return group;
}

/** What a refused join (createInstances' extra items) means to the user: the group went, or it is full. */
export async function joinRefusal(err: unknown, group: ServerGroup): Promise<unknown> {
  if (!isConditionFailure(err)) return err;
  if (!(await getServerGroup(group.id))) return new BadRequest(`Instance group ${group.id} could not be found.`);
  return new QuotaExceeded('Quota exceeded, too many servers in group');
}
