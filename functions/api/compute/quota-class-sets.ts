import { z } from 'zod';
import { COMPUTE_QUOTAS, type ComputeLimits } from '../../../shared/domain/quota.js';
import { classLimits, setClassLimits } from '../../../shared/store/quota-limits.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';
import { limitsOfBody, limitsView } from './quota-sets.js';

/**
 * `os-quota-class-sets`: the `default` class holds the limits every project starts from (other
 * class names are kept and shown, and used by nothing, as in Nova). Below 2.50 the view has no
 * server group quotas.
 */
const SERVER_GROUP_QUOTAS = ['server_groups', 'server_group_members'];
const CLASS_QUOTAS = COMPUTE_QUOTAS.filter((q) => !SERVER_GROUP_QUOTAS.includes(q));

function view(req: ApiRequest, limits: ComputeLimits): Record<string, number> {
  return Object.fromEntries(Object.entries(limitsView(req, limits)).filter(([k]) => !SERVER_GROUP_QUOTAS.includes(k)));
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-quota-class-sets:show');
  const name = req.params.class_name;
  return json(200, { quota_class_set: { id: name, ...view(req, await classLimits(name)) } });
}

const UpdateSchema = z.strictObject({ quota_class_set: z.record(z.string(), z.unknown()) });

async function update(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-quota-class-sets:update');
  const limits = limitsOfBody(req, parseBody(req, UpdateSchema).quota_class_set, CLASS_QUOTAS);
  return json(200, { quota_class_set: view(req, await setClassLimits(req.params.class_name, limits)) });
}

export const quotaClassSetRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-quota-class-sets/{class_name}', service: 'compute', handler: show },
  { method: 'PUT', path: '/compute/v2.1/os-quota-class-sets/{class_name}', service: 'compute', handler: update },
];
