import { z } from 'zod';
import {
  ContainerFormatSchema,
  DiskFormatSchema,
  ImageStatusSchema,
  ImageVisibilitySchema,
  type Image,
} from '../../../shared/domain/image.js';
import { BadRequest } from '../../../shared/errors.js';
import type { TokenContext } from '../identity/token-context.js';
import { imageVisibleTo } from './image-policy.js';

/** Glance's limit_param_default and api_limit_max. */
export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 1000;

const SORT_KEYS = [
  'name',
  'status',
  'container_format',
  'disk_format',
  'size',
  'id',
  'created_at',
  'updated_at',
  'min_disk',
  'min_ram',
  'visibility',
  'owner',
] as const;
const SortKeySchema = z.enum(SORT_KEYS);
const SortDirSchema = z.enum(['asc', 'desc']);
type SortKey = z.infer<typeof SortKeySchema>;
type SortDir = z.infer<typeof SortDirSchema>;

/** oslo's bool_from_string(strict=True), which glance uses for boolean filters. */
const BooleanParam = z
  .string()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', 't', 'f', 'y', 'n']))
  .transform((v) => ['true', '1', 'yes', 'on', 't', 'y'].includes(v));

const KnownParamsSchema = z.object({
  limit: z.coerce.number().int().nonnegative().optional(),
  marker: z.string().optional(),
  visibility: z.union([ImageVisibilitySchema, z.literal('all')]).optional(),
  member_status: z.enum(['accepted', 'pending', 'rejected', 'all']).optional(),
  name: z.string().optional(),
  id: z.string().optional(),
  status: ImageStatusSchema.optional(),
  owner: z.string().optional(),
  container_format: ContainerFormatSchema.optional(),
  disk_format: DiskFormatSchema.optional(),
  size_min: z.coerce.number().int().nonnegative().optional(),
  size_max: z.coerce.number().int().nonnegative().optional(),
  protected: BooleanParam.optional(),
  os_hidden: BooleanParam.optional(),
  sort_key: SortKeySchema.optional(),
  sort_dir: SortDirSchema.optional(),
  sort: z.string().optional(),
});
const KNOWN_PARAMS = new Set([...Object.keys(KnownParamsSchema.shape), 'tag']);

export interface ImageListQuery {
  params: z.infer<typeof KnownParamsSchema>;
  /** Every `tag` given: an image must carry them all. */
  tags: string[];
  /** Any other query parameter filters on an extra property of that name, as in glance. */
  properties: Record<string, string>;
  sort: { key: SortKey; dir: SortDir }[];
  limit: number;
}

export function parseImageListQuery(query: URLSearchParams): ImageListQuery {
  const flat: Record<string, string> = {};
  for (const [k, v] of query) flat[k] ??= v;
  const parsed = KnownParamsSchema.safeParse(flat);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequest(`Invalid value for query parameter ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const params = parsed.data;
  if (params.sort && (params.sort_key || params.sort_dir)) {
    throw new BadRequest('The sort parameter cannot be combined with sort_key or sort_dir.');
  }
  const properties = Object.fromEntries(Object.entries(flat).filter(([k]) => !KNOWN_PARAMS.has(k)));
  return {
    params,
    tags: query.getAll('tag'),
    properties,
    sort: sortOrder(params),
    limit: Math.min(params.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
  };
}

/** The requested order, then created_at and id so that every order is total (as glance does). */
function sortOrder(params: ImageListQuery['params']): ImageListQuery['sort'] {
  const order: ImageListQuery['sort'] = [];
  if (params.sort) {
    for (const part of params.sort.split(',')) {
      const [key, dir = 'asc'] = part.trim().split(':');
      const k = SortKeySchema.safeParse(key);
      const d = SortDirSchema.safeParse(dir);
      if (!k.success) throw new BadRequest(`Invalid sort key: ${key}.`);
      if (!d.success) throw new BadRequest(`Invalid sort direction: ${dir}.`);
      order.push({ key: k.data, dir: d.data });
    }
  } else {
    order.push({ key: params.sort_key ?? 'created_at', dir: params.sort_dir ?? 'desc' });
  }
  const tieDir = order[order.length - 1].dir;
  for (const key of ['created_at', 'id'] as const) if (!order.some((o) => o.key === key)) order.push({ key, dir: tieDir });
  return order;
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}

export function compareImages(a: Image, b: Image, sort: ImageListQuery['sort']): number {
  for (const { key, dir } of sort) {
    const c = compareValues(a[key], b[key]);
    if (c !== 0) return dir === 'asc' ? c : -c;
  }
  return 0;
}

function matches(image: Image, q: ImageListQuery, auth: TokenContext): boolean {
  const p = q.params;
  if (p.visibility === undefined) {
    // Without a visibility filter glance leaves out other projects' community images.
    if (image.visibility === 'community' && image.owner !== auth.project_id) return false;
  } else if (p.visibility !== 'all' && image.visibility !== p.visibility) return false;
  if (image.os_hidden !== (p.os_hidden ?? false)) return false;
  for (const key of ['name', 'id', 'status', 'owner', 'container_format', 'disk_format', 'protected'] as const) {
    if (p[key] !== undefined && image[key] !== p[key]) return false;
  }
  if (p.size_min !== undefined && (image.size ?? -1) < p.size_min) return false;
  if (p.size_max !== undefined && (image.size === null || image.size > p.size_max)) return false;
  if (!q.tags.every((t) => image.tags.includes(t))) return false;
  return Object.entries(q.properties).every(([k, v]) => image.properties[k] === v);
}

/**
 * One page of the images `auth` may see that pass the query, in the query's order, starting
 * after the marker (an image id, which must be visible to the caller: 400 otherwise).
 */
export function selectImages(images: Image[], q: ImageListQuery, auth: TokenContext): { page: Image[]; more: boolean } {
  const visible = images.filter((image) => imageVisibleTo(image, auth));
  let candidates = visible.filter((image) => matches(image, q, auth)).sort((a, b) => compareImages(a, b, q.sort));
  if (q.params.marker !== undefined) {
    const marker = visible.find((image) => image.id === q.params.marker);
    if (!marker) throw new BadRequest(`Marker ${q.params.marker} could not be found.`);
    candidates = candidates.filter((image) => compareImages(image, marker, q.sort) > 0);
  }
  return { page: candidates.slice(0, q.limit), more: candidates.length > q.limit };
}

/** glance's `first` and `next` links: the same query, with the marker moved to the page's last image. */
export function pageLinks(query: URLSearchParams, page: Image[], more: boolean): { first: string; next?: string } {
  const rest = new URLSearchParams([...query].filter(([k]) => k !== 'marker'));
  const first = rest.size ? `/v2/images?${rest}` : '/v2/images';
  if (!more || page.length === 0) return { first };
  rest.append('marker', page[page.length - 1].id);
  return { first, next: `/v2/images?${rest}` };
}
