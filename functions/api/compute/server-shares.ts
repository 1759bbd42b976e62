import { z } from 'zod';
import { VmState } from '../../../shared/domain/instance-states.js';
import { Conflict, InstanceInvalidState, NotFound } from '../../../shared/errors.js';
import { json, parseBody, parseQuery } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { loadInstance } from './server-access.js';

/**
 * Nova's server shares (2.97: Manila shares mounted in the guest over virtiofs). Nothing here
 * offers them: no share service, and no host has the COMPUTE_STORAGE_VIRTIO_FS trait. So, as Nova
 * answers on such a cloud: a server has no shares (an empty list, a 404 for any one), and an
 * attach passes Nova's checks up to its hardware one (hw.check_shares_supported), which refuses.
 */

const BASE = '/compute/v2.1/servers/{server_id}/shares';
const versionFound = (req: ApiRequest) => {
  if (!req.microversion.atLeast('2.97')) throw new NotFound('The resource could not be found.');
};
const NoQuery = z.strictObject({});
const AttachBody = z.strictObject({
  share: z.strictObject({ share_id: z.string().uuid(), tag: z.string().min(1).max(255).regex(/^[a-zA-Z0-9-]*$/).optional() }),
});

async function listShares(req: ApiRequest): Promise<ApiResponse> {
  versionFound(req);
  parseQuery(req, NoQuery);
  await loadInstance(req);
  return json(200, { shares: [] });
}

async function showShare(req: ApiRequest): Promise<ApiResponse> {
  versionFound(req);
  parseQuery(req, NoQuery);
  await loadInstance(req);
  throw new NotFound(`Share ${req.params.share_id} could not be found.`);
}

async function attachShare(req: ApiRequest): Promise<ApiResponse> {
  versionFound(req);
  parseBody(req, AttachBody);
  const instance = await loadInstance(req);
  if (instance.vm_state !== VmState.STOPPED) throw new InstanceInvalidState('create share', 'vm_state', instance.vm_state, instance.id);
  throw new Conflict('Feature not supported because either compute or instance are not configured correctly.');
}

async function detachShare(req: ApiRequest): Promise<ApiResponse> {
  versionFound(req);
  const instance = await loadInstance(req);
  if (instance.vm_state !== VmState.STOPPED && instance.vm_state !== VmState.ERROR) {
    throw new InstanceInvalidState('delete share', 'vm_state', instance.vm_state, instance.id);
  }
  throw new NotFound(`Share ${req.params.share_id} could not be found.`);
}

export const serverShareRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: listShares },
  { method: 'POST', path: BASE, service: 'compute', handler: attachShare },
  { method: 'GET', path: `${BASE}/{share_id}`, service: 'compute', handler: showShare },
  { method: 'DELETE', path: `${BASE}/{share_id}`, service: 'compute', handler: detachShare },
];
