import { z } from 'zod';
import { BadRequest } from '../../../../shared/errors.js';
import { json, validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../../http/types.js';
import { allocateFloatingIp, floatingIpPools, getFloatingIp, projectFloatingIps, releaseFloatingIp, type FloatingIp } from './floating-ip-api.js';
import { proxyOnly } from './proxy-version.js';

/** `/os-floating-ips` and `/os-floating-ip-pools` (2.1-2.35, floating_ips.py, floating_ip_pools.py): Neutron's floating IPs in Nova's words. */

export function floatingIpView(fip: FloatingIp) {
  return {
    fixed_ip: fip.fixed_ip_address,
    id: fip.id,
    instance_id: fip.port_details ? fip.port_details.device_id : null,
    ip: fip.floating_ip_address,
    pool: fip.network.name || fip.network.id,
  };
}

/** The create body is optional (`null`, `{}` or `{"pool": ...}`). */
const CreateBody = z.looseObject({ pool: z.string().nullable().optional() }).nullable();

function createBody(req: ApiRequest): z.infer<typeof CreateBody> {
  const text = req.body.toString('utf8').trim();
  if (!text) return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new BadRequest('Malformed request body');
  }
  return validate(CreateBody, data);
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { floating_ips: (await projectFloatingIps(req)).map(floatingIpView) });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { floating_ip: floatingIpView(await getFloatingIp(req, req.params.id)) });
}

async function create(req: ApiRequest): Promise<ApiResponse> {
  const body = createBody(req);
  return json(200, { floating_ip: floatingIpView(await allocateFloatingIp(req, body?.pool)) });
}

/** Deleting a floating IP also lets go of its server (Neutron drops the association with it). */
async function remove(req: ApiRequest): Promise<ApiResponse> {
  const fip = await getFloatingIp(req, req.params.id);
  await releaseFloatingIp(req, fip);
  return json(202);
}

async function listPools(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { floating_ip_pools: (await floatingIpPools(req)).map((n) => ({ name: n.name || n.id })) });
}

export const floatingIpProxyRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-floating-ips', service: 'compute', handler: proxyOnly(list) },
  { method: 'POST', path: '/compute/v2.1/os-floating-ips', service: 'compute', handler: proxyOnly(create) },
  { method: 'GET', path: '/compute/v2.1/os-floating-ips/{id}', service: 'compute', handler: proxyOnly(show) },
  { method: 'DELETE', path: '/compute/v2.1/os-floating-ips/{id}', service: 'compute', handler: proxyOnly(remove) },
  { method: 'GET', path: '/compute/v2.1/os-floating-ip-pools', service: 'compute', handler: proxyOnly(listPools) },
];
