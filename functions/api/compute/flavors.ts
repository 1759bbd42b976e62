import type { Flavor } from '../../../shared/domain/flavor.js';
import { BadRequest, NotFound } from '../../../shared/errors.js';
import { getFlavor, hasFlavorAccess, listFlavors } from '../../../shared/store/flavors.js';
import { json } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';
import { nextLinks, pageOf, resourceLinks, type Page } from './links.js';
import { flavorVisibleTo } from './policy.js';
import { rejectUnknownQuery } from './query-params.js';

const BASE = '/compute/v2.1/flavors';

/**
 * A flavor at the request's microversion: swap is "" when there is none until 2.75 and 0 from
 * it; 2.55 adds `description`; 2.61 adds `extra_specs` (Nova's policy for reading them,
 * os-flavor-extra-specs:index, is any project member's, so every caller sees them).
 */
export function flavorView(req: ApiRequest, flavor: Flavor) {
  const mv = req.microversion;
  return {
    id: flavor.id,
    name: flavor.name,
    ram: flavor.ram,
    disk: flavor.disk,
    swap: flavor.swap === 0 && !mv.atLeast('2.75') ? '' : flavor.swap,
    vcpus: flavor.vcpus,
    'OS-FLV-EXT-DATA:ephemeral': flavor.ephemeral,
    'OS-FLV-DISABLED:disabled': flavor.disabled,
    'os-flavor-access:is_public': flavor.is_public,
    rxtx_factor: flavor.rxtx_factor,
    links: resourceLinks(req, 'flavors', flavor.id),
    ...(mv.atLeast('2.55') && { description: flavor.description }),
    ...(mv.atLeast('2.61') && { extra_specs: flavor.extra_specs }),
  };
}

const summaryView = (req: ApiRequest, flavor: Flavor) => ({
  id: flavor.id,
  name: flavor.name,
  links: resourceLinks(req, 'flavors', flavor.id),
  ...(req.microversion.atLeast('2.55') && { description: flavor.description }),
});

/** Nova's index_query: from 2.75 no other parameter is allowed. */
const LIST_QUERY = ['limit', 'marker', 'is_public', 'minRam', 'minDisk', 'sort_key', 'sort_dir'];

/** Nova's sort keys (its flavor table columns) and the field each one orders by here. */
const SORT_KEYS: Record<string, (f: Flavor) => string | number | boolean | null> = {
  flavorid: (f) => f.id,
  id: (f) => f.created_at,
  created_at: (f) => f.created_at,
  updated_at: (f) => f.created_at,
  name: (f) => f.name,
  memory_mb: (f) => f.ram,
  vcpus: (f) => f.vcpus,
  root_gb: (f) => f.disk,
  ephemeral_gb: (f) => f.ephemeral,
  swap: (f) => f.swap,
  rxtx_factor: (f) => f.rxtx_factor,
  is_public: (f) => f.is_public,
  disabled: (f) => f.disabled,
  description: (f) => f.description,
  vcpu_weight: () => null,
};

export interface FlavorQuery {
  /** true: public only (plus the caller's private ones); false: private only; null: all. Admins only choose. */
  isPublic: boolean | null;
  minRam?: number;
  minDisk?: number;
  sortKey: string;
  sortDir: 'asc' | 'desc';
  page: Page;
}

/** Reads the list query as Nova's flavors controller does, with its error messages. */
export function parseFlavorQuery(query: URLSearchParams, admin: boolean): FlavorQuery {
  const intFilter = (name: 'minRam' | 'minDisk') => {
    const raw = query.get(name);
    if (raw === null) return undefined;
    if (!/^\s*[-+]?\d+\s*$/.test(raw)) throw new BadRequest(`Invalid ${name} filter [${raw}]`);
    return Number(raw);
  };
  const sortKey = query.get('sort_key') || 'flavorid';
  if (!(sortKey in SORT_KEYS)) throw new BadRequest(`Invalid input for query parameters sort_key. Value: ${sortKey}.`);
  const sortDir = query.get('sort_dir') || 'asc';
  if (sortDir !== 'asc' && sortDir !== 'desc') throw new BadRequest(`Invalid input for query parameters sort_dir. Value: ${sortDir}.`);
  return {
    isPublic: admin ? parseIsPublic(query.get('is_public')) : true,
    minRam: intFilter('minRam'),
    minDisk: intFilter('minDisk'),
    sortKey,
    sortDir,
    page: pageOf(query),
  };
}

function parseIsPublic(raw: string | null): boolean | null {
  if (raw === null) return true;
  const value = raw.trim().toLowerCase();
  if (value === 'none') return null;
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(value)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(value)) return false;
  throw new BadRequest(`Invalid is_public filter [${raw}]`);
}

/**
 * Filters, sorts and pages flavors. `accessible` holds the private flavors the caller's project
 * was given: like Nova, "public" listings include them.
 */
export function selectFlavors(flavors: Flavor[], q: FlavorQuery, admin: boolean, accessible: ReadonlySet<string>): Flavor[] {
  const matching = flavors.filter((f) => {
    if (!admin && f.disabled) return false;
    if (q.isPublic === true && !f.is_public && !accessible.has(f.id)) return false;
    if (q.isPublic === false && f.is_public) return false;
    if (q.minRam !== undefined && f.ram < q.minRam) return false;
    if (q.minDisk !== undefined && f.disk < q.minDisk) return false;
    return true;
  });
  const keyOf = SORT_KEYS[q.sortKey];
  const sign = q.sortDir === 'asc' ? 1 : -1;
  matching.sort((a, b) => sign * compare(keyOf(a), keyOf(b)) || compare(a.id, b.id));
  let start = 0;
  if (q.page.marker !== undefined) {
    const at = matching.findIndex((f) => f.id === q.page.marker);
    if (at < 0) throw new BadRequest(`marker [${q.page.marker}] not found`);
    start = at + 1;
  }
  return matching.slice(start, start + q.page.limit);
}

function compare(a: string | number | boolean | null, b: string | number | boolean | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/** The private flavors (among these) that the caller's project may use. */
async function accessibleTo(req: ApiRequest, flavors: Flavor[]): Promise<Set<string>> {
  const privateOnes = flavors.filter((f) => !f.is_public);
  const found = await Promise.all(privateOnes.map(async (f) => ((await hasFlavorAccess(f.id, req.auth.project_id)) ? f.id : '')));
  return new Set(found.filter(Boolean));
}

async function visibleFlavors(req: ApiRequest): Promise<Flavor[]> {
  rejectUnknownQuery(req, LIST_QUERY);
  const admin = isAdmin(req.auth);
  const q = parseFlavorQuery(req.query, admin);
  const all = await listFlavors();
  return selectFlavors(all, q, admin, await accessibleTo(req, all));
}

/** A flavor the caller may see, or Nova's 404. */
export async function loadVisibleFlavor(req: ApiRequest, id: string): Promise<Flavor> {
  const flavor = await getFlavor(id);
  if (!flavor || !(await flavorVisibleTo(flavor, req.auth))) throw new NotFound(`Flavor ${id} could not be found.`);
  return flavor;
}

async function list(req: ApiRequest) {
  const flavors = await visibleFlavors(req);
  const links = nextLinks(req, 'flavors', pageOf(req.query), flavors.map((f) => f.id));
  return json(200, { flavors: flavors.map((f) => summaryView(req, f)), ...(links && { flavors_links: links }) });
}

async function detail(req: ApiRequest) {
  const flavors = await visibleFlavors(req);
  const links = nextLinks(req, 'flavors/detail', pageOf(req.query), flavors.map((f) => f.id));
  return json(200, { flavors: flavors.map((f) => flavorView(req, f)), ...(links && { flavors_links: links }) });
}

async function show(req: ApiRequest) {
  return json(200, { flavor: flavorView(req, await loadVisibleFlavor(req, req.params.flavor_id)) });
}

export const flavorRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: list },
  { method: 'GET', path: `${BASE}/detail`, service: 'compute', handler: detail },
  { method: 'GET', path: `${BASE}/{flavor_id}`, service: 'compute', handler: show },
];
