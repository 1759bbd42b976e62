import { BadRequest } from '../../../shared/errors.js';
import type { ApiRequest } from '../http/types.js';

/**
 * Nova's query schemas with `additionalProperties: false`: from `since` (2.75 for most resources)
 * a parameter the call does not know is a 400, with jsonschema's message; before it is ignored.
 */
export function rejectUnknownQuery(req: ApiRequest, allowed: readonly string[], since = '2.75'): void {
  if (!req.microversion.atLeast(since)) return;
  const unknown = [...new Set(req.query.keys())].filter((key) => !allowed.includes(key)).sort();
  if (unknown.length === 0) return;
  const names = unknown.map((key) => `'${key}'`).join(', ');
  throw new BadRequest(`Additional properties are not allowed (${names} ${unknown.length === 1 ? 'was' : 'were'} unexpected)`);
}
