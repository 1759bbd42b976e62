import { z } from 'zod';
import { zoneOf, type Host } from '../../../shared/domain/host.js';
import { BadRequest, NotFound } from '../../../shared/errors.js';
import { getHost, listHosts, setHostForcedDown, setHostStatus } from '../../../shared/store/hosts.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { COMPUTE_BINARY, derivedUuid, hostState, legacyId, serviceUuid } from './compute-hosts.js';
import { novaBoolean } from './flavor-manage.js';
import { CONTROL_BINARIES, CONTROL_HOST, controlServiceState } from './control-services.js';
import { authorizeAdmin } from './policy.js';
import { rejectUnknownQuery } from './query-params.js';
import { deleteService, updateService } from './service-update.js';

/**
 * Compute services: one nova-compute per registered host, and the control plane's nova-scheduler
 * and nova-conductor (control-services.ts), which cannot be disabled. Microversion 2.11 adds
 * `forced_down` to the views and `PUT /os-services/force-down`; 2.53 identifies services by UUID
 * and replaces the PUT actions with `PUT /os-services/{service_id}` (service-update.ts); 2.69
 * (minimal views of services in a down cell) changes nothing here: there are no cells to be down;
 * 2.75 rejects unknown list parameters.
 */
const BASE = '/compute/v2.1/os-services';

export function serviceView(host: Host, now = Date.now(), withForcedDown = false, uuidIds = false) {
  return {
    id: uuidIds ? serviceUuid(host) : legacyId(host.service_id),
    binary: COMPUTE_BINARY,
    host: host.host,
    zone: zoneOf(host),
    status: host.status,
    state: hostState(host, now),
    disabled_reason: host.disabled_reason,
    updated_at: host.last_heartbeat,
    ...(withForcedDown && { forced_down: host.forced_down }),
  };
}

async function list(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-services:list');
  rejectUnknownQuery(req, ['host', 'binary']);
  const uuidIds = req.microversion.atLeast('2.53');
  const host = req.query.get('host');
  const binary = req.query.get('binary');
  const hosts = (await listHosts())
    .filter((h) => host === null || h.host === host)
    .filter(() => binary === null || binary === COMPUTE_BINARY)
    .sort((a, b) => a.host.localeCompare(b.host));
  const now = Date.now();
  const withForcedDown = req.microversion.atLeast('2.11');
  const control = await Promise.all(
    CONTROL_BINARIES.filter((b) => (binary === null || binary === b) && (host === null || host === CONTROL_HOST)).map((b) => controlServiceState(b, now)),
  );
  const controlRows = control.map((c) => ({
    id: uuidIds ? derivedUuid('service', `${c.host}/${c.binary}`, c.id) : c.id,
    binary: c.binary,
    host: c.host,
    zone: c.zone,
    status: 'enabled',
    state: c.state,
    disabled_reason: null,
    updated_at: c.updatedAt,
    ...(withForcedDown && { forced_down: false }),
  }));
  return json(200, { services: [...controlRows, ...hosts.map((h) => serviceView(h, now, withForcedDown, uuidIds))] });
}

const UpdateSchema = z.strictObject({
  host: z.string().min(1).max(255),
  binary: z.string().min(1).max(255),
  disabled_reason: z.string().min(1).max(255).optional(),
});
const UpdateSchemaV211 = UpdateSchema.extend({ forced_down: novaBoolean.optional() });

const ACTIONS = ['enable', 'disable', 'disable-log-reason', 'force-down'] as const;

/**
 * The actions before 2.53: PUT /os-services/enable, /disable and /disable-log-reason with host and
 * binary, and from 2.11 /force-down.
 */
async function update(req: ApiRequest) {
  if (req.microversion.atLeast('2.53')) return updateService(req);
  authorizeAdmin(req, 'os_compute_api:os-services:update');
  const v211 = req.microversion.atLeast('2.11');
  const action = req.params.action as (typeof ACTIONS)[number];
  if (!ACTIONS.includes(action) || (action === 'force-down' && !v211)) throw new NotFound('Unknown action');
  const body = parseBody(req, v211 ? UpdateSchemaV211 : UpdateSchema);
  if (action === 'force-down') return forceDown(body);
  if (action === 'disable-log-reason' && !isValidReason(body.disabled_reason)) throw new BadRequest('Missing disabled reason field');
  checkComputeBinary(body.binary);
  const host = await getHost(body.host);
  const notFound = () => new NotFound(`Could not find binary ${body.binary} on host ${body.host}.`);
  if (!host) throw notFound();

  const status = action === 'enable' ? 'enabled' : 'disabled';
  // Like Nova, enabling clears the reason and a plain disable keeps the one there was.
  const reason = action === 'enable' ? null : action === 'disable' ? host.disabled_reason : (body.disabled_reason ?? null);
  if (!(await setHostStatus(host.host, status, reason))) throw notFound();
  return json(200, {
    service: { host: body.host, binary: body.binary, status, ...(action === 'disable-log-reason' && { disabled_reason: reason }) },
  });
}

/** Sets or clears forced_down: the host counts as down (services, hypervisors, scheduler) until cleared. */
async function forceDown(body: z.infer<typeof UpdateSchemaV211>) {
  if (body.forced_down === undefined) throw new BadRequest('Missing forced_down field');
  checkComputeBinary(body.binary);
  if (!(await setHostForcedDown(body.host, body.forced_down))) throw new NotFound(`Could not find binary ${body.binary} on host ${body.host}.`);
  return json(200, { service: { host: body.host, binary: body.binary, forced_down: body.forced_down } });
}

export function checkComputeBinary(binary: string): void {
  if ((CONTROL_BINARIES as readonly string[]).includes(binary)) {
    throw new BadRequest(`${binary} runs as functions of the control plane here: it cannot be disabled or forced down. Only nova-compute services can be updated.`);
  }
  if (binary !== COMPUTE_BINARY) throw new BadRequest(`Updating a ${binary} service is not supported. Only nova-compute services can be updated.`);
}

/** Nova's check of a disable reason: 1–255 characters, not only whitespace. */
const isValidReason = (reason: string | undefined) => reason !== undefined && reason.trim().length > 0 && reason.length <= 255;

export const serviceRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: list },
  { method: 'PUT', path: `${BASE}/{action}`, service: 'compute', handler: update },
  { method: 'DELETE', path: `${BASE}/{action}`, service: 'compute', handler: deleteService },
];
