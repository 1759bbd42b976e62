import { z } from 'zod';
import { config } from '../../../shared/config.js';
import {
  BadRouterRequest,
  InvalidInput,
  NetworkNotFound,
  NotAuthorized,
  RouterExternalGatewayInUseByFloatingIp,
  RouterInUse,
  RouterNotFound,
} from '../../../shared/domain/network/errors.js';
import { isIpv4 } from '../../../shared/domain/network/ipv4.js';
import { DeviceOwner, networkOwnedPort, type Port } from '../../../shared/domain/network/port.js';
import { newStandardAttributes } from '../../../shared/domain/network/network.js';
import type { ExternalGateway, Router } from '../../../shared/domain/network/router.js';
import { createExternalPort, listFloatingIps, type ExternalAddressWish } from '../../../shared/store/network/floating-ips.js';
import { getNetwork } from '../../../shared/store/network/networks.js';
import { deletePortSteps, getPort } from '../../../shared/store/network/ports.js';
import {
  createRouter,
  deleteRouter,
  getRouter,
  listRouterPorts,
  listRouters,
  recordNewRouterPort,
  updateRouter,
} from '../../../shared/store/network/routers.js';
import { syncRouterHosts } from '../../../shared/network-plan/sync.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { isAdmin, type Caller } from '../identity/token-context.js';
import { networkVisibleTo, ownsOrAdmin, owningProject } from './access.js';
import { applyListQuery, pickFields, type View } from './list-query.js';
import { isoSeconds } from './networks.js';

const ipv4 = z.string().refine(isIpv4, 'is not a valid IPv4 address');

/** `external_gateway_info`: `{}` or null removes the gateway. */
const GatewayInfoSchema = z
  .strictObject({
    network_id: z.string(),
    enable_snat: z.boolean(),
    external_fixed_ips: z.array(z.strictObject({ subnet_id: z.string(), ip_address: ipv4 }).partial()).max(1),
  })
  .partial()
  .nullable();
type GatewayInfo = z.infer<typeof GatewayInfoSchema>;

const RouterFields = {
  name: z.string().max(255),
  description: z.string().max(255),
  admin_state_up: z.boolean(),
  external_gateway_info: GatewayInfoSchema,
  /** Only what this cloud's routers are: centralized, not HA, no static routes. */
  distributed: z.literal(false),
  ha: z.literal(false),
  routes: z.array(z.strictObject({ destination: z.string(), nexthop: z.string() })).max(0, 'static routes are not offered'),
};
const CreateSchema = z.strictObject({
  router: z.strictObject({ ...RouterFields, project_id: z.string(), tenant_id: z.string() }).partial(),
});
const UpdateSchema = z.strictObject({ router: z.strictObject(RouterFields).partial() });

export const ROUTER_ATTRIBUTES = [
  'id', 'name', 'description', 'tenant_id', 'project_id', 'status', 'admin_state_up', 'distributed', 'ha', 'flavor_id', 'revision_number',
] as const;

/** A router as Neutron shows it. */
export function routerView(r: Router): View {
  const gw = r.external_gateway;
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    status: r.status,
    admin_state_up: r.admin_state_up,
    tenant_id: r.project_id,
    project_id: r.project_id,
    external_gateway_info: gw && { network_id: gw.network_id, enable_snat: gw.enable_snat, external_fixed_ips: gw.external_fixed_ips },
    routes: [],
    distributed: false,
    ha: false,
    availability_zone_hints: [],
    availability_zones: [config().DEFAULT_AVAILABILITY_ZONE],
    flavor_id: null,
    tags: [],
    revision_number: r.revision_number,
    created_at: isoSeconds(r.created_at),
    updated_at: isoSeconds(r.updated_at),
  };
}

/** A router of the caller's project (any, for an admin), or Neutron's 404. */
export async function visibleRouter(caller: Caller, id: string): Promise<Router> {
  const router = await getRouter(id);
  if (!router || !ownsOrAdmin(caller, router)) throw new RouterNotFound(id);
  return router;
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  const views = (await listRouters()).filter((r) => ownsOrAdmin(req.auth, r)).map(routerView);
  return json(200, { routers: applyListQuery(views, req.query, ROUTER_ATTRIBUTES) });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { router: pickFields(routerView(await visibleRouter(req.auth, req.params.router_id)), req.query) });
}

/** Neutron's policy: a member names the gateway network; SNAT and fixed addresses are the admin's to choose. */
function checkGatewayPolicy(caller: Caller, info: NonNullable<GatewayInfo>, action: 'create_router' | 'update_router') {
  if (isAdmin(caller)) return;
  for (const attr of ['enable_snat', 'external_fixed_ips'] as const) {
    if (info[attr] !== undefined) throw new NotAuthorized(`(rule:${action}:external_gateway_info:${attr}) is disallowed by policy`);
  }
}

const removesGateway = (info: GatewayInfo) => info === null || Object.keys(info).length === 0;

/** Makes the gateway port `info` asks for, on an external network, and the gateway that records it. */
export async function makeGateway(caller: Caller, router: Router, info: NonNullable<GatewayInfo>): Promise<{ gateway: ExternalGateway; port: Port }> {
  if (!info.network_id) throw new InvalidInput('Invalid input for external_gateway_info. Reason: network_id is required');
  const network = await getNetwork(info.network_id);
  if (!network || !networkVisibleTo(caller, network)) throw new NetworkNotFound(info.network_id);
  if (!network.router_external) throw new BadRouterRequest(`Network ${network.id} is not an external network`);
  const wish: ExternalAddressWish = info.external_fixed_ips?.[0] ?? {};
  const port = await createExternalPort(network, networkOwnedPort(router.project_id, { network_id: network.id, device_id: router.id, device_owner: DeviceOwner.routerGateway }), wish);
  return {
    port,
    gateway: { network_id: network.id, enable_snat: info.enable_snat ?? true, port_id: port.id, external_fixed_ips: port.fixed_ips },
  };
}


/** The steps that free a gateway's port (none if it is already gone). */
async function gatewayPortSteps(gateway: ExternalGateway | null) {
  const port = gateway && (await getPort(gateway.port_id));
  return port ? deletePortSteps(port) : [];
}

/** A gateway cannot go while floating IPs of its network reach ports through the router (409, as Neutron). */
async function checkGatewayUnused(router: Router) {
  const gw = router.external_gateway;
  if (!gw) return;
  const fips = await listFloatingIps();
  if (fips.some((f) => f.router_id === router.id && f.floating_network_id === gw.network_id)) {
    throw new RouterExternalGatewayInUseByFloatingIp(router.id, gw.network_id);
  }
}

async function create(req: ApiRequest): Promise<ApiResponse> {
  const { router: body } = parseBody(req, CreateSchema);
  const info = body.external_gateway_info;
  if (info && !removesGateway(info)) checkGatewayPolicy(req.auth, info, 'create_router');
  let router = await createRouter({
    ...newStandardAttributes(owningProject(req.auth, body), body),
    admin_state_up: body.admin_state_up ?? true,
    status: 'ACTIVE',
    external_gateway: null,
  });
  if (info && !removesGateway(info)) {
    try {
      const { gateway, port } = await makeGateway(req.auth, router, info);
      router = await recordNewRouterPort(router, port, { external_gateway: gateway });
    } catch (err) {
      // Neutron makes the router and its gateway in one request: a refused gateway leaves no router.
      await deleteRouter(router);
      throw err;
    }
  }
  return json(201, { router: routerView(router) });
}

/** A router update, then the plans of the hosts behind it (its gateway, SNAT and state are on every one of them). */
async function update(req: ApiRequest): Promise<ApiResponse> {
  const response = await updateRouterFields(req);
  await syncRouterHosts(req.params.router_id, req.requestId);
  return response;
}

async function updateRouterFields(req: ApiRequest): Promise<ApiResponse> {
  const { router: body } = parseBody(req, UpdateSchema);
  const current = await visibleRouter(req.auth, req.params.router_id);
  const changes: Partial<Router> = {
    ...(body.name !== undefined && { name: body.name }),
    ...(body.description !== undefined && { description: body.description }),
    ...(body.admin_state_up !== undefined && { admin_state_up: body.admin_state_up }),
  };
  const info = body.external_gateway_info;
  const gw = current.external_gateway;
  if (info === undefined || (removesGateway(info) && !gw)) return json(200, { router: routerView(await updateRouter(current, changes)) });
  if (removesGateway(info)) {
    await checkGatewayUnused(current);
    const router = await updateRouter(current, { ...changes, external_gateway: null }, await gatewayPortSteps(gw));
    return json(200, { router: routerView(router) });
  }
  const wanted = info!;
  checkGatewayPolicy(req.auth, wanted, 'update_router');
  if (gw && wanted.network_id === gw.network_id && sameAddresses(gw, wanted)) {
    const router = await updateRouter(current, { ...changes, external_gateway: { ...gw, enable_snat: wanted.enable_snat ?? gw.enable_snat } });
    return json(200, { router: routerView(router) });
  }
  if (gw && wanted.network_id !== gw.network_id) await checkGatewayUnused(current);
  const { gateway, port } = await makeGateway(req.auth, current, wanted);
  const router = await recordNewRouterPort(current, port, { ...changes, external_gateway: gateway }, await gatewayPortSteps(gw));
  return json(200, { router: routerView(router) });
}

/** Whether the addresses asked for (if any) are the gateway's already. */
function sameAddresses(gw: ExternalGateway, info: NonNullable<GatewayInfo>): boolean {
  const wish = info.external_fixed_ips?.[0];
  if (!wish) return true;
  return gw.external_fixed_ips.some(
    (ip) => (!wish.subnet_id || wish.subnet_id === ip.subnet_id) && (!wish.ip_address || wish.ip_address === ip.ip_address),
  );
}

/** A router with interfaces is in use (409); its gateway port goes with it. */
async function remove(req: ApiRequest): Promise<ApiResponse> {
  const router = await visibleRouter(req.auth, req.params.router_id);
  const ports = await listRouterPorts(router.id);
  if (ports.some((p) => p.device_owner === DeviceOwner.routerInterface)) throw new RouterInUse(router.id);
  const gatewayPorts = ports.filter((p) => p.device_owner === DeviceOwner.routerGateway);
  await deleteRouter(router, gatewayPorts.flatMap(deletePortSteps));
  return json(204);
}

export const routerRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/routers', service: 'network', handler: list },
  { method: 'POST', path: '/networking/v2.0/routers', service: 'network', handler: create },
  { method: 'GET', path: '/networking/v2.0/routers/{router_id}', service: 'network', handler: show },
  { method: 'PUT', path: '/networking/v2.0/routers/{router_id}', service: 'network', handler: update },
  { method: 'DELETE', path: '/networking/v2.0/routers/{router_id}', service: 'network', handler: remove },
];
