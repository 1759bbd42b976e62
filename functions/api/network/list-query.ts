import { BadRequest } from '../../../shared/errors.js';

export type View = Record<string, unknown>;

/** Paging and presentation parameters: not filters. */
const CONTROL = new Set(['fields', 'limit', 'marker', 'page_reverse', 'sort_key', 'sort_dir']);

/** Neutron's boolean conversion for query values. */
function asBoolean(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new BadRequest(`Invalid input for ${key}. Reason: '${value}' cannot be converted to boolean.`);
}

/** A filter that is not plain equality on an attribute (e.g. `fixed_ips=ip_address=…`). */
export type CustomFilter = (view: View, value: string) => boolean;

function matches(view: View, key: string, value: string, custom: Record<string, CustomFilter>): boolean {
  if (custom[key]) return custom[key](view, value);
  const actual = view[key];
  if (typeof actual === 'boolean') return actual === asBoolean(key, value);
  if (Array.isArray(actual)) return actual.map(String).includes(value);
  if (actual === null) return value === '' || value === 'None';
  return String(actual) === value;
}

/**
 * Neutron's list query: every filter attribute must match one of its given values (a repeated
 * key means OR); an attribute the resource does not have is a 400; then sort_key/sort_dir,
 * marker and limit; `fields` picks the attributes shown.
 */
export function applyListQuery(views: View[], query: URLSearchParams, attributes: readonly string[], custom: Record<string, CustomFilter> = {}): View[] {
  const known = new Set([...attributes, ...Object.keys(custom)]);
  const filters = [...new Set(query.keys())].filter((k) => !CONTROL.has(k));
  for (const key of filters) if (!known.has(key)) throw new BadRequest(`[${key}] is invalid attribute for filtering`);
  let out = views.filter((v) => filters.every((key) => query.getAll(key).some((value) => matches(v, key, value, custom))));
  out = sortViews(out, query, known);
  const marker = query.get('marker');
  if (marker) out = out.slice(out.findIndex((v) => v.id === marker) + 1);
  const limit = query.get('limit');
  if (limit) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 0) throw new BadRequest(`Bad limit request: Limit must be an integer 0 or greater and not '${limit}'.`);
    if (n > 0) out = out.slice(0, n);
  }
  return out.map((v) => pickFields(v, query));
}

function sortViews(views: View[], query: URLSearchParams, known: Set<string>): View[] {
  const keys = query.getAll('sort_key');
  if (keys.length === 0) return views;
  const dirs = query.getAll('sort_dir');
  for (const k of keys) if (!known.has(k)) throw new BadRequest(`${k} is invalid attribute for sort_keys`);
  return [...views].sort((a, b) => {
    for (const [i, k] of keys.entries()) {
      const sign = (dirs[i] ?? 'asc') === 'desc' ? -1 : 1;
      const c = String(a[k] ?? '').localeCompare(String(b[k] ?? ''));
      if (c !== 0) return sign * c;
    }
    return 0;
  });
}

/** `fields=a&fields=b` keeps only those attributes (a show takes it too). */
export function pickFields(view: View, query: URLSearchParams): View {
  const fields = query.getAll('fields').filter(Boolean);
  if (fields.length === 0) return view;
  return Object.fromEntries(Object.entries(view).filter(([k]) => fields.includes(k)));
}
