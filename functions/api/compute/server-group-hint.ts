import { z } from 'zod';
import type { ServerGroup } from '../../../shared/domain/server-group.js';
import { BadRequest, QuotaExceeded } from '../../../shared/errors.js';
import { getServerGroup } from '../../../shared/store/server-groups.js';
import { isConditionFailure } from '../../../shared/store/table.js';
import type { ApiRequest } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';

const GroupHint = z.object({ group: z.string().uuid().optional() });

/** The server group a boot's `group` scheduler hint names: the caller's project's (or any, for admins); Nova's 400 otherwise. */
export async function requestedGroup(req: ApiRequest, hints: Record<string, unknown> | undefined): Promise<ServerGroup | undefined> {
  const parsed = GroupHint.safeParse(hints ?? {});
  if (!parsed.success) throw new BadRequest(`Invalid input for field/attribute group. Value: ${String(hints?.group)}. is not a 'uuid'`);
  const id = parsed.data.group;
  if (!id) return undefined;
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
