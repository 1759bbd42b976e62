import type { Flavor } from '../../../shared/domain/flavor.js';
import { Forbidden } from '../../../shared/errors.js';
import { hasFlavorAccess } from '../../../shared/store/flavors.js';
import type { ApiRequest } from '../http/types.js';
import { isAdmin, type TokenContext } from '../identity/token-context.js';

/** Nova's admin-only policy rules (e.g. `os_compute_api:os-services:list`): 403 for anyone else. */
export function authorizeAdmin(req: ApiRequest, rule: string): void {
  if (!isAdmin(req.auth)) throw new Forbidden(`Policy doesn't allow ${rule} to be performed.`);
}

/**
 * Nova's rule: admins see every flavor; others see public flavors and the private ones their
 * project was given access to.
 */
export async function flavorVisibleTo(flavor: Flavor, auth: TokenContext): Promise<boolean> {
  if (flavor.is_public || isAdmin(auth)) return true;
  return hasFlavorAccess(flavor.id, auth.project_id);
}
