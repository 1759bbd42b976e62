import { z } from 'zod';
import { config } from '../../../../shared/config.js';
import { zoneOf } from '../../../../shared/domain/host.js';
import type { Instance } from '../../../../shared/domain/instance.js';
import { InstanceActionName, TaskState, VmState } from '../../../../shared/domain/instance-states.js';
import { BadRequest, Conflict, Forbidden } from '../../../../shared/errors.js';
import { logger } from '../../../../shared/logger.js';
import { sendHostCommand } from '../../../../shared/messages/host-commands.js';
import { SchedulerMessageSchema } from '../../../../shared/messages/scheduler.js';
import { sendMessage } from '../../../../shared/messages/send.js';
import { listHosts } from '../../../../shared/store/hosts.js';
import { actionPut, newAction } from '../../../../shared/store/instance-actions.js';
import { deadlineFor, transact, versionedUpdate, type InstanceChanges } from '../../../../shared/store/instances.js';
import { validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { isAdmin } from '../../identity/token-context.js';
import { zonesOf } from '../availability-zones.js';
import { loadInstance } from '../server-access.js';
import { checkActionAllowed } from './guest-task.js';
import type { ServerAction } from './server-action.js';

/** 2.77: null, or a zone to unshelve into (`{}` is refused, as in Nova). */
const UnshelveV277Schema = z.strictObject({ availability_zone: z.string().min(1).max(255) }).nullable();
/** 2.91: also a host (admins only); a null zone unpins the server from its zone. */
const UnshelveV291Schema = z.strictObject({ availability_zone: z.string().nullable().optional(), host: z.string().optional() }).nullable();

/** What an unshelve asks for: a new zone (null = unpin; absent = keep) and a host. */
interface UnshelveRequest {
  zone?: string | null;
  host?: string;
}

function parseUnshelve(req: ApiRequest, body: unknown): UnshelveRequest {
  // Before 2.77 the body is not validated: `{"unshelve": null}`.
  if (!req.microversion.atLeast('2.77')) return {};
  if (!req.microversion.atLeast('2.91')) {
    const v277 = validate(UnshelveV277Schema, body);
    return v277 ? { zone: v277.availability_zone } : {};
  }
  const v291 = validate(UnshelveV291Schema, body);
  if (!v291) return {};
  return { ...('availability_zone' in v291 ? { zone: v291.availability_zone ?? null } : {}), ...(v291.host !== undefined ? { host: v291.host } : {}) };
}

/**
 * Nova's checks of an unshelve's zone and host (compute/api.py unshelve): only for an offloaded
 * server; the zone must be available; the host is an admin's choice, must exist and be in the
 * zone the server will be pinned to. Returns that zone (null: not pinned).
 */
async function checkDestination(req: ApiRequest, instance: Instance, wanted: UnshelveRequest): Promise<string | null> {
  const zonePassed = 'zone' in wanted;
  if ((zonePassed || wanted.host) && instance.vm_state !== VmState.SHELVED_OFFLOADED) {
    throw new Conflict(
      `Specifying an availability zone or a host when unshelving server "${instance.id}" with status "SHELVED" is not supported. The server status must be SHELVED_OFFLOADED.`,
    );
  }
  const pinned = zonePassed ? (wanted.zone ?? null) : (instance.pinned_availability_zone ?? null);
  if (!zonePassed && !wanted.host) return pinned;
  const hosts = await listHosts();
  if (wanted.zone && !zonesOf(hosts).available.includes(wanted.zone)) throw new BadRequest('The requested availability zone is not available');
  if (wanted.host) {
    if (!isAdmin(req.auth)) throw new Forbidden("Policy doesn't allow os_compute_api:os-shelve:unshelve_to_host to be performed.");
    const host = hosts.find((h) => h.host === wanted.host);
    if (!host) throw new BadRequest(`Compute host ${wanted.host} could not be found.`);
    if (pinned && zoneOf(host) !== pinned) throw new Conflict(`Host "${wanted.host}" is not in the availability zone "${pinned}".`);
  }
  return pinned;
}

/**
 * `unshelve`: 202. A SHELVED server is powered on where it is; an offloaded one is placed again by
 * the scheduler (the same filters, weighers and claim as a boot, in the zone it is pinned to or
 * the one asked for, on the host asked for) and spawned from its shelved image. Either way the
 * shelved image is deleted once the server runs. Quota is unchanged: an offloaded server still
 * counts (Nova counts instances, cores and ram from its records).
 */
async function unshelve(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  const wanted = parseUnshelve(req, body);
  for (let attempt = 0; attempt < 5; attempt++) {
    const instance = await loadInstance(req);
    checkActionAllowed(req, instance, InstanceActionName.UNSHELVE, 'unshelve');
    const zone = await checkDestination(req, instance, wanted);
    const now = new Date().toISOString();
    const offloaded = instance.vm_state === VmState.SHELVED_OFFLOADED;
    if (offloaded && !instance.shelved) throw new Conflict(`Instance ${instance.id} has no shelved image to unshelve from.`);
    const changes: InstanceChanges = {
      task_state: TaskState.UNSHELVING,
      task_deadline: deadlineFor(TaskState.UNSHELVING),
      ...(offloaded && {
        availability_zone: zone,
        pinned_availability_zone: zone,
        requested_host: wanted.host ?? null,
        attempted_hosts: [],
        shelved: { ...instance.shelved!, unshelving_since: now },
      }),
    };
    const action = newAction({ instanceId: instance.id, action: InstanceActionName.UNSHELVE, requestId: req.requestId, userId: req.auth.user_id, projectId: req.auth.project_id }, now);
    if (!(await transact([versionedUpdate(instance, changes, now), actionPut(action)]))) continue;
    if (offloaded) {
      await sendMessage(config().SCHEDULER_QUEUE_URL, SchedulerMessageSchema, { type: 'build', request_id: req.requestId, instance_id: instance.id });
    } else if (!instance.host || !(await sendHostCommand(instance.host, { type: 'power_on', request_id: req.requestId, instance_id: instance.id, action: 'unshelve' }))) {
      // The sweeper ends the task at its deadline.
      logger.error('the instance host has no queue; the unshelve will time out', { instance_id: instance.id, host: instance.host });
    }
    return { status: 202 };
  }
  throw new Conflict('The server was changed by another request at the same time; try again.');
}

export const unshelveServerActions: ServerAction[] = [{ name: 'unshelve', handle: unshelve }];
