import { z } from 'zod';
import { COMPUTE_QUOTAS, INJECTED_FILE_QUOTAS, NETWORK_QUOTAS, QuotaUsageSchema, type ComputeLimits, type QuotaLimits } from '../../../shared/domain/quota.js';
import { BadRequest } from '../../../shared/errors.js';
import { keys } from '../../../shared/store/keys.js';
import { listKeypairs } from '../../../shared/store/keypairs.js';
import { getUserQuotaUsage } from '../../../shared/store/instances.js';
import { classLimits, projectLimits, resetProjectLimits, resetUserLimits, setProjectLimits, setUserLimits, userLimits } from '../../../shared/store/quota-limits.js';
import { getItem } from '../../../shared/store/table.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';
import { rejectUnknownQuery } from './query-params.js';

/**
 * `os-quota-sets`: a project's compute limits, or (with `user_id`) one of its users' (Nova's
 * legacy per-user quotas), from shared/store/quota-limits.ts, which creates enforce. Security
 * groups, their rules, floating and fixed IPs belong to Neutron: Nova stores and shows them
 * (unlimited by default) below 2.36 and enforces nothing of them; from 2.36 it leaves them out.
 * From 2.57 the injected file quotas (personality is gone) are left out too. From 2.75 a query
 * parameter other than `user_id` is a 400.
 */
const NETWORK = new Set<string>(NETWORK_QUOTAS);
const INJECTED_FILES = new Set<string>(INJECTED_FILE_QUOTAS);

/** The quotas os-quota-sets does not show at the request's microversion (Nova's FILTERED_QUOTAS). */
function hiddenInQuotaSets(req: ApiRequest): (name: string) => boolean {
  const v236 = req.microversion.atLeast('2.36');
  const v257 = req.microversion.atLeast('2.57');
  return (name) => (v236 && NETWORK.has(name)) || (v257 && INJECTED_FILES.has(name));
}

/** The limits as the request's microversion shows them; `hidden` says which to leave out (os-quota-sets' by default). */
export function limitsView(req: ApiRequest, limits: ComputeLimits, hidden = hiddenInQuotaSets(req)): Record<string, number> {
  return Object.fromEntries(Object.entries(limits).filter(([k]) => !hidden(k)));
}

/** The user a request names with `user_id`, if any; from 2.75 no other parameter is allowed. */
function userOf(req: ApiRequest): string | undefined {
  rejectUnknownQuery(req, ['user_id']);
  return req.query.get('user_id') || undefined;
}

function projectOf(req: ApiRequest): string {
  const projectId = req.params.project_id;
  if (projectId !== req.auth.project_id) authorizeAdmin(req, 'os_compute_api:os-quota-sets:show');
  return projectId;
}

const quotaSet = (projectId: string, values: Record<string, unknown>) => ({ quota_set: { id: projectId, ...values } });

const limitsOf = (projectId: string, userId: string | undefined) => (userId ? userLimits(projectId, userId) : projectLimits(projectId));

async function show(req: ApiRequest): Promise<ApiResponse> {
  const projectId = projectOf(req);
  return json(200, quotaSet(projectId, limitsView(req, await limitsOf(projectId, userOf(req)))));
}

async function defaults(req: ApiRequest): Promise<ApiResponse> {
  return json(200, quotaSet(projectOf(req), limitsView(req, await classLimits())));
}

/** What a project (or one user of it) uses: servers, cores, RAM and server groups as counted at create; key pairs are the user's (Nova counts them per user). */
async function usageOf(req: ApiRequest, projectId: string, userId?: string): Promise<Record<string, number>> {
  const item = (await getItem(keys.quotaUsage(projectId), true)) ?? {};
  const servers = userId ? await getUserQuotaUsage(projectId, userId) : QuotaUsageSchema.parse(item);
  return { ...servers, server_groups: Number(item.server_groups ?? 0), key_pairs: (await listKeypairs(userId ?? req.auth.user_id)).length };
}

async function detail(req: ApiRequest): Promise<ApiResponse> {
  const projectId = projectOf(req);
  const userId = userOf(req);
  const [limits, inUse] = await Promise.all([limitsOf(projectId, userId), usageOf(req, projectId, userId)]);
  const values = Object.fromEntries(Object.entries(limitsView(req, limits)).map(([k, limit]) => [k, { in_use: inUse[k] ?? 0, limit, reserved: 0 }]));
  return json(200, quotaSet(projectId, values));
}

/** Nova's non_negative_integer_with_minus_one: an integer, or its text, of at least -1. */
export const LimitValue = z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]).pipe(z.number().int().min(-1).max(0x7fffffff));
const Force = z.union([z.boolean(), z.enum(['True', 'False', 'true', 'false'])]).transform((v) => v === true || v === 'True' || v === 'true');

/** The limits a body sets, refusing names the microversion does not have (as Nova's schema does). */
export function limitsOfBody(body: Record<string, unknown>, allowed: readonly string[], hidden: (name: string) => boolean, field = 'quota_set'): QuotaLimits {
  const limits: QuotaLimits = {};
  for (const [name, value] of Object.entries(body)) {
    if (!allowed.includes(name) || hidden(name)) {
      throw new BadRequest(`Invalid input for field/attribute ${field}. Value: Additional properties are not allowed ('${name}' was unexpected)`);
    }
    const parsed = LimitValue.safeParse(value);
    if (!parsed.success) throw new BadRequest(`Invalid input for field/attribute ${name}. Value: ${String(value)}. It must be an integer of at least -1.`);
    limits[name as keyof QuotaLimits] = parsed.data;
  }
  return limits;
}

const UpdateSchema = z.strictObject({ quota_set: z.record(z.string(), z.unknown()) });

/** PUT: admins set a project's (or a user's) limits; below what it uses already only with `force`. */
async function update(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-quota-sets:update');
  const projectId = req.params.project_id;
  const userId = userOf(req);
  const { force, ...body } = parseBody(req, UpdateSchema).quota_set;
  const limits = limitsOfBody(body, COMPUTE_QUOTAS, hiddenInQuotaSets(req));
  if (!(force !== undefined && Force.parse(force))) {
    const inUse = await usageOf(req, projectId, userId);
    for (const [name, limit] of Object.entries(limits)) {
      const used = inUse[name] ?? 0;
      if (limit >= 0 && limit < used) throw new BadRequest(`Quota limit ${limit} for ${name} must be greater than or equal to already used and reserved ${used}.`);
    }
  }
  const updated = userId ? await setUserLimits(projectId, userId, limits) : await setProjectLimits(projectId, limits);
  return json(200, { quota_set: limitsView(req, updated) });
}

async function reset(req: ApiRequest): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-quota-sets:delete');
  const userId = userOf(req);
  if (userId) await resetUserLimits(req.params.project_id, userId);
  else await resetProjectLimits(req.params.project_id);
  return { status: 202 };
}

export const quotaSetRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-quota-sets/{project_id}', service: 'compute', handler: show },
  { method: 'PUT', path: '/compute/v2.1/os-quota-sets/{project_id}', service: 'compute', handler: update },
  { method: 'DELETE', path: '/compute/v2.1/os-quota-sets/{project_id}', service: 'compute', handler: reset },
  { method: 'GET', path: '/compute/v2.1/os-quota-sets/{project_id}/defaults', service: 'compute', handler: defaults },
  { method: 'GET', path: '/compute/v2.1/os-quota-sets/{project_id}/detail', service: 'compute', handler: detail },
];
