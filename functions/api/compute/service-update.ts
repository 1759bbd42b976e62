import { z } from 'zod';
import type { Host } from '../../../shared/domain/host.js';
import { BadRequest, Conflict, NotFound } from '../../../shared/errors.js';
import { AggregateChanged, listAggregates, saveAggregate } from '../../../shared/store/aggregates.js';
import { deleteHost, listHosts, setHostForcedDown, setHostStatus } from '../../../shared/store/hosts.js';
import { listAllInstances } from '../../../shared/store/instances.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse } from '../http/types.js';
import { canonicalUuid, derivedUuid, isUuidLike, legacyId, serviceUuid } from './compute-hosts.js';
import { CONTROL_BINARIES, controlServiceState } from './control-services.js';
import { novaBoolean } from './flavor-manage.js';
import { authorizeAdmin } from './policy.js';
import { serviceView } from './services.js';

/**
 * One service by its id: `PUT /os-services/{service_id}` (2.53: status, disabled_reason and
 * forced_down of a nova-compute service, answered with the whole service) and
 * `DELETE /os-services/{service_id}` (an integer id before 2.53, a UUID from it).
 */
type Found = { kind: 'compute'; host: Host } | { kind: 'control'; binary: string };

/** The service an id names at the request's microversion, or Nova's 400 / 404. */
async function findService(req: ApiRequest, id: string): Promise<Found> {
  const uuids = req.microversion.atLeast('2.53');
  if (uuids && !isUuidLike(id)) throw new BadRequest(`Invalid uuid ${id}`);
  if (!uuids && !/^\s*[-+]?\d+\s*$/.test(id)) throw new BadRequest('Invalid input received: id must be an integer');
  const wanted = uuids ? canonicalUuid(id) : String(Number(id));
  const host = (await listHosts()).find((h) => (uuids ? serviceUuid(h) : String(legacyId(h.service_id))) === wanted);
  if (host) return { kind: 'compute', host };
  for (const binary of CONTROL_BINARIES) {
    const c = await controlServiceState(binary);
    if ((uuids ? derivedUuid('service', `${c.host}/${c.binary}`, c.id) : String(c.id)) === wanted) return { kind: 'control', binary };
  }
  throw new NotFound(`Service ${id} could not be found.`);
}

const UpdateSchemaV253 = z.strictObject({
  status: z.enum(['enabled', 'disabled']).optional(),
  disabled_reason: z.string().min(1).max(255).optional(),
  forced_down: novaBoolean.optional(),
});

export async function updateService(req: ApiRequest): Promise<ApiResponse> {
  const id = req.params.action;
  if (!isUuidLike(id)) throw new BadRequest(`Invalid uuid ${id}`);
  authorizeAdmin(req, 'os_compute_api:os-services:update');
  const body = parseBody(req, UpdateSchemaV253);
  const found = await findService(req, id);
  if (found.kind === 'control') throw new BadRequest(`Updating a ${found.binary} service is not supported. Only nova-compute services can be updated.`);
  let host: Host | undefined = found.host;
  if (body.status === 'enabled' && body.disabled_reason) throw new BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.");
  if (body.status === undefined && body.forced_down === undefined) {
    throw new BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.");
  }
  const gone = () => new NotFound(`Service ${id} could not be found.`);
  if (body.status !== undefined) {
    host = await setHostStatus(host.host, body.status, body.status === 'enabled' ? null : (body.disabled_reason ?? null));
    if (!host) throw gone();
  }
  if (body.forced_down !== undefined) {
    host = await setHostForcedDown(host.host, body.forced_down);
    if (!host) throw gone();
  }
  return json(200, { service: serviceView(host, Date.now(), true, true) });
}

/**
 * Deletes a compute service as Nova does: refused (409) while servers are on its host; otherwise
 * the host leaves its aggregates and its record goes. An agent still running there registers
 * again when it restarts, as a nova-compute recreates its service record.
 */
export async function deleteService(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-services:delete');
  const id = req.params.action;
  const found = await findService(req, id);
  if (found.kind === 'control') {
    throw new BadRequest(`${found.binary} runs as functions of the control plane here: it cannot be deleted. Only nova-compute services can be deleted.`);
  }
  const { host } = found;
  const hosting = () => new Conflict('Unable to delete compute service that is hosting instances. Migrate or delete the instances first.');
  if ((await listAllInstances()).some((i) => i.host === host.host || i.claimed_host === host.host)) throw hosting();
  await leaveAggregates(host.host);
  const result = await deleteHost(host.host);
  if (result === 'gone') throw new NotFound(`Service ${id} could not be found.`);
  if (result === 'in-use') throw hosting();
  return { status: 204 };
}

async function leaveAggregates(host: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const all = await listAggregates();
    const holding = all.find((a) => a.hosts.includes(host));
    if (!holding) return;
    const after = { ...holding, hosts: holding.hosts.filter((h) => h !== host) };
    try {
      await saveAggregate(holding, after, all.map((a) => (a.id === after.id ? after : a)));
    } catch (err) {
      if (!(err instanceof AggregateChanged)) throw err;
    }
  }
  throw new Conflict('An aggregate of the host was changed by another request at the same time; try again.');
}
