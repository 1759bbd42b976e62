import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Aggregate } from '../../../shared/domain/aggregate.js';
import { BadRequest, Conflict, NotFound } from '../../../shared/errors.js';
import { AggregateChanged, AggregateNameTaken, createAggregate, deleteAggregate, getAggregate, listAggregates, saveAggregate } from '../../../shared/store/aggregates.js';
import { getHost } from '../../../shared/store/hosts.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';

/**
 * Nova's os-aggregates (admin only): hosts grouped with metadata, read by the scheduler's
 * aggregate filters; an `availability_zone` (in the body or as metadata) puts the hosts in that
 * zone. A host is in at most one zone: adding it to an aggregate of another zone, or giving an
 * aggregate a zone some of its hosts have through another aggregate, is Nova's 400.
 * Microversions: 2.41 shows the aggregate's `uuid`; 2.81 adds POST /os-aggregates/{id}/images.
 */
const BASE = '/compute/v2.1/os-aggregates';

const Name = z.string().min(1).max(255).regex(/^\S(.*\S)?$/s, 'must not start or end with whitespace');
const Zone = z.string().min(1).max(255).regex(/^[^:]*$/, "must not contain ':'").nullable();
const CreateSchema = z.strictObject({ aggregate: z.strictObject({ name: Name, availability_zone: Zone.optional() }) });
const UpdateSchema = z.strictObject({
  aggregate: z.strictObject({ name: Name.optional(), availability_zone: Zone.optional() }).refine((a) => Object.keys(a).length > 0, 'needs name or availability_zone'),
});
const HostBody = z.strictObject({ host: z.string().min(1).max(255) });
const ActionSchema = z.union([
  z.strictObject({ add_host: HostBody }),
  z.strictObject({ remove_host: HostBody }),
  z.strictObject({ set_metadata: z.strictObject({ metadata: z.record(z.string().min(1).max(255), z.string().max(255).nullable()) }) }),
]);

const iso = (t: string | null) => (t ? t.replace('Z', '') : null);

function view(req: ApiRequest, a: Aggregate, withHosts = true) {
  return {
    availability_zone: a.availability_zone,
    created_at: iso(a.created_at),
    deleted: false,
    deleted_at: null,
    ...(withHosts && { hosts: a.hosts, metadata: a.metadata }),
    id: a.id,
    name: a.name,
    updated_at: iso(a.updated_at),
    ...(req.microversion.atLeast('2.41') && { uuid: a.uuid }),
  };
}

async function loadAggregate(req: ApiRequest): Promise<Aggregate> {
  const id = req.params.aggregate_id;
  const aggregate = /^\d+$/.test(id) ? await getAggregate(Number(id)) : undefined;
  if (!aggregate) throw new NotFound(`Aggregate ${id} could not be found.`);
  return aggregate;
}

/** The aggregate with a new zone (or none), metadata kept in step. */
function withZone(a: Aggregate, zone: string | null): Aggregate {
  const { availability_zone: _old, ...metadata } = a.metadata;
  return { ...a, availability_zone: zone, metadata: zone ? { ...metadata, availability_zone: zone } : metadata };
}

/** Nova's check: every host of the changed aggregate keeps a single zone. */
function checkZones(changed: Aggregate, all: Aggregate[], action: string): void {
  if (!changed.availability_zone) return;
  const others = all.filter((a) => a.id !== changed.id && a.availability_zone && a.availability_zone !== changed.availability_zone);
  const clashing = others.filter((a) => a.hosts.some((h) => changed.hosts.includes(h))).map((a) => a.availability_zone);
  if (clashing.length) {
    throw new BadRequest(`Cannot ${action} aggregate ${changed.id}. Reason: One or more hosts already in availability zone(s) [${[...new Set(clashing)].map((z) => `'${z}'`).join(', ')}].`);
  }
}

/** Saves a change, with Nova's answers for a taken name and for a change made meanwhile. */
async function save(before: Aggregate, after: Aggregate, all: Aggregate[]): Promise<Aggregate> {
  try {
    return await saveAggregate(before, after, all.map((a) => (a.id === after.id ? after : a)));
  } catch (err) {
    if (err instanceof AggregateNameTaken) throw new Conflict(`Aggregate ${err.message} already exists.`);
    if (err instanceof AggregateChanged) throw new Conflict('The aggregate was changed by another request at the same time; try again.');
    throw err;
  }
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-aggregates:index');
  return json(200, { aggregates: (await listAggregates()).map((a) => view(req, a)) });
}

async function create(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-aggregates:create');
  const { name, availability_zone: zone = null } = parseBody(req, CreateSchema).aggregate;
  try {
    const created = await createAggregate({ uuid: randomUUID(), name, availability_zone: zone, hosts: [], metadata: zone ? { availability_zone: zone } : {}, created_at: new Date().toISOString(), updated_at: null });
    return json(200, { aggregate: view(req, created, false) });
  } catch (err) {
    if (err instanceof AggregateNameTaken) throw new Conflict(`Aggregate ${name} already exists.`);
    throw err;
  }
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-aggregates:show');
  return json(200, { aggregate: view(req, await loadAggregate(req)) });
}

async function update(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-aggregates:update');
  const body = parseBody(req, UpdateSchema).aggregate;
  const before = await loadAggregate(req);
  let after: Aggregate = { ...before, name: body.name ?? before.name };
  if (body.availability_zone !== undefined) after = withZone(after, body.availability_zone);
  const all = await listAggregates();
  checkZones(after, all, 'update');
  return json(200, { aggregate: view(req, await save(before, after, all)) });
}

async function remove(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-aggregates:delete');
  const aggregate = await loadAggregate(req);
  if (aggregate.hosts.length) throw new BadRequest(`Cannot remove aggregate ${aggregate.id}. Reason: Host aggregate is not empty.`);
  if (!(await deleteAggregate(aggregate))) throw new Conflict('The aggregate was changed by another request at the same time; try again.');
  return { status: 200 };
}

async function action(req: ApiRequest): Promise<ApiResponse> {
  const body = parseBody(req, ActionSchema);
  authorizeAdmin(req, `os_compute_api:os-aggregates:${Object.keys(body)[0]}`);
  const before = await loadAggregate(req);
  const all = await listAggregates();
  let after: Aggregate;
  if ('add_host' in body) {
    const { host } = body.add_host;
    if (!(await getHost(host))) throw new NotFound(`Compute host ${host} could not be found.`);
    if (before.hosts.includes(host)) throw new Conflict(`Aggregate ${before.id} already has host ${host}.`);
    after = { ...before, hosts: [...before.hosts, host] };
    checkZones(after, all, 'add host to');
  } else if ('remove_host' in body) {
    const { host } = body.remove_host;
    if (!before.hosts.includes(host)) throw new NotFound(`Cannot remove host ${host} in aggregate ${before.id}`);
    after = { ...before, hosts: before.hosts.filter((h) => h !== host) };
  } else {
    const changes = body.set_metadata.metadata;
    const metadata = { ...before.metadata };
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete metadata[k];
      else metadata[k] = v;
    }
    after = { ...before, metadata, availability_zone: metadata.availability_zone ?? null };
    if (after.availability_zone?.includes(':')) throw new BadRequest("Invalid input for field/attribute availability_zone. Value: must not contain ':'");
    checkZones(after, all, 'update metadata of');
  }
  return json(200, { aggregate: view(req, await save(before, after, all)) });
}

/** Nova's parameter_types.image_id: a UUID (oslo's is_uuid_like also takes it without hyphens). */
const ImageId = z.string().regex(/^(?:[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})$/i, 'is not a uuid');
const ImagesSchema = z.strictObject({ cache: z.array(z.strictObject({ id: ImageId })).min(1) });

/**
 * 2.81: asks the aggregate's hosts to pre-cache images. The host agents have no pre-cache
 * command (they fetch an image when a guest first needs it), which is Nova's case of a virt
 * driver without cache_image: the request is accepted (202) and no host caches anything.
 */
async function cacheImages(req: ApiRequest): Promise<ApiResponse> {
  if (!req.microversion.atLeast('2.81')) throw new NotFound('The resource could not be found.');
  authorizeAdmin(req, 'compute:aggregates:images');
  const ids = parseBody(req, ImagesSchema).cache.map((image) => image.id);
  if (!/^\d+$/.test(req.params.aggregate_id)) throw new BadRequest('Invalid input received: id must be an integer');
  if (new Set(ids).size !== ids.length) throw new BadRequest('Duplicate images in request');
  await loadAggregate(req);
  return { status: 202 };
}

export const aggregateRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: list },
  { method: 'POST', path: BASE, service: 'compute', handler: create },
  { method: 'GET', path: `${BASE}/{aggregate_id}`, service: 'compute', handler: show },
  { method: 'PUT', path: `${BASE}/{aggregate_id}`, service: 'compute', handler: update },
  { method: 'DELETE', path: `${BASE}/{aggregate_id}`, service: 'compute', handler: remove },
  { method: 'POST', path: `${BASE}/{aggregate_id}/action`, service: 'compute', handler: action },
  { method: 'POST', path: `${BASE}/{aggregate_id}/images`, service: 'compute', handler: cacheImages },
];
