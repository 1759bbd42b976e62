import { BadRequest } from '../../../shared/errors.js';
import type { ApiRequest } from '../http/types.js';

/** Base URL of the compute service, e.g. https://api.example.com/compute. */
export const computeBase = (req: Pick<ApiRequest, 'baseUrl'>) => `${req.baseUrl}/compute`;

/** A resource's `self` (versioned) and `bookmark` (unversioned) links, as Nova gives them. */
export function resourceLinks(req: Pick<ApiRequest, 'baseUrl'>, collection: string, id: string) {
  const base = computeBase(req);
  return [
    { href: `${base}/v2.1/${collection}/${id}`, rel: 'self' },
    { href: `${base}/${collection}/${id}`, rel: 'bookmark' },
  ];
}

/** Nova's osapi_max_limit. */
export const MAX_LIMIT = 1000;

export interface Page {
  limit: number;
  /** Whether the client gave a limit: Nova adds a `next` link only then. */
  limitGiven: boolean;
  marker?: string;
}

/** `limit` and `marker` with Nova's checks and messages (common.get_limit_and_marker). */
export function pageOf(query: URLSearchParams): Page {
  const marker = query.get('marker') ?? undefined;
  const raw = query.get('limit');
  if (raw === null) return { limit: MAX_LIMIT, limitGiven: false, marker };
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) throw new BadRequest('limit param must be an integer');
  const limit = Number(raw);
  if (limit < 0) throw new BadRequest('limit param must be positive');
  return { limit: Math.min(MAX_LIMIT, limit || MAX_LIMIT), limitGiven: true, marker };
}

/** The `rel: next` link of a full page: the same query with the marker moved to the last item. */
export function nextLinks(req: Pick<ApiRequest, 'baseUrl' | 'query'>, collectionPath: string, page: Page, ids: string[]) {
  if (!page.limitGiven || ids.length === 0 || ids.length !== page.limit) return undefined;
  const params = new URLSearchParams(req.query);
  params.set('marker', ids[ids.length - 1]);
  return [{ href: `${computeBase(req)}/v2.1/${collectionPath}?${params}`, rel: 'next' }];
}
