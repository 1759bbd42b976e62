import { Forbidden } from '../../../shared/errors.js';
import type { ApiRequest } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';

/** Nova's admin-only policy rules (e.g. `os_compute_api:os-services:list`): 403 for anyone else. */
export function authorizeAdmin(req: ApiRequest, rule: string): void {
  if (!isAdmin(req.auth)) throw new Forbidden(`Policy doesn't allow ${rule} to be performed.`);
}
