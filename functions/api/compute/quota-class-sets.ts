import { z } from 'zod';
import { COMPUTE_QUOTAS, INJECTED_FILE_QUOTAS, NETWORK_QUOTAS, type ComputeLimits } from '../../../shared/domain/quota.js';
import { classLimits, setClassLimits } from '../../../shared/store/quota-limits.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';
import { limitsOfBody, limitsView } from './quota-sets.js';

/**
 * `os-quota-class-sets`: the `default` class holds the limits every project starts from (other
 * class names are kept and shown, and used by nothing, as in Nova). Its microversions differ
 * from os-quota-sets': below 2.50 the view has no server group quotas (a body may still set
 * them) and keeps the network ones; 2.50 shows the server group quotas and drops the network
 * ones; 2.57 drops the injected file quotas.
 */
const SERVER_GROUP_QUOTAS = new Set(['server_groups', 'server_group_members']);
const NETWORK = new Set<string>(NETWORK_QUOTAS);
const INJECTED_FILES = new Set<string>(INJECTED_FILE_QUOTAS);

/** Quotas this microversion's body may not name (Nova's update schemas). */
function refusedInBody(req: ApiRequest): (name: string) => boolean {
  const v250 = req.microversion.atLeast('2.50');
  const v257 = req.microversion.atLeast('2.57');
  return (name) => (v250 && NETWORK.has(name)) || (v257 && INJECTED_FILES.has(name));
}

/** Quotas this microversion's view leaves out. */
function hiddenInView(req: ApiRequest): (name: string) => boolean {
  const refused = refusedInBody(req);
  const v250 = req.microversion.atLeast('2.50');
  return (name) => refused(name) || (!v250 && SERVER_GROUP_QUOTAS.has(name));
}

const view = (req: ApiRequest, limits: ComputeLimits) => limitsView(req, limits, hiddenInView(req));

async function show(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-quota-class-sets:show');
  const name = req.params.class_name;
  return json(200, { quota_class_set: { id: name, ...view(req, await classLimits(name)) } });
}

const UpdateSchema = z.strictObject({ quota_class_set: z.record(z.string(), z.unknown()) });

async function update(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-quota-class-sets:update');
  const limits = limitsOfBody(parseBody(req, UpdateSchema).quota_class_set, COMPUTE_QUOTAS, refusedInBody(req), 'quota_class_set');
  return json(200, { quota_class_set: view(req, await setClassLimits(req.params.class_name, limits)) });
}

export const quotaClassSetRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-quota-class-sets/{class_name}', service: 'compute', handler: show },
  { method: 'PUT', path: '/compute/v2.1/os-quota-class-sets/{class_name}', service: 'compute', handler: update },
];
