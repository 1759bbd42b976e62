import { z } from 'zod';
import { config } from '../../../shared/config.js';
import { InvalidInput, NetworkInUse, NetworkNotFound, NotAuthorized } from '../../../shared/domain/network/errors.js';
import { EXTERNAL_NETWORK_MTU, newStandardAttributes, TENANT_NETWORK_MTU, type Network } from '../../../shared/domain/network/network.js';
import { DeviceOwner } from '../../../shared/domain/network/port.js';
import type { Subnet } from '../../../shared/domain/network/subnet.js';
import { createNetwork, deleteNetworkItem, getNetwork, listNetworks, updateNetwork } from '../../../shared/store/network/networks.js';
import { deletePortSteps, listNetworkPorts } from '../../../shared/store/network/ports.js';
import { deleteSubnetSteps, listNetworkSubnets, listSubnets } from '../../../shared/store/network/subnets.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { isAdmin, type Caller } from '../identity/token-context.js';
import { networkVisibleTo, ownsOrAdmin, owningProject } from './access.js';
import { applyListQuery, pickFields, type View } from './list-query.js';

const NetworkFields = {
  name: z.string().max(255),
  description: z.string().max(255),
  admin_state_up: z.boolean(),
  shared: z.boolean(),
  'router:external': z.boolean(),
  mtu: z.number().int().min(68),
  port_security_enabled: z.boolean(),
  availability_zone_hints: z.array(z.string()),
  dns_domain: z.string(),
  is_default: z.boolean(),
  'provider:network_type': z.enum(['vxlan', 'flat']),
  'provider:physical_network': z.string().nullable(),
  'provider:segmentation_id': z.number().int().nullable(),
};

const CreateSchema = z.strictObject({
  network: z.strictObject({ ...NetworkFields, project_id: z.string(), tenant_id: z.string() }).partial(),
});
const UpdateSchema = z.strictObject({ network: z.strictObject(NetworkFields).partial() });

/** Attributes a list may filter on (the view's, as Neutron allows). */
export const NETWORK_ATTRIBUTES = [
  'id', 'name', 'description', 'tenant_id', 'project_id', 'admin_state_up', 'status', 'shared', 'router:external', 'mtu', 'subnets',
  'port_security_enabled', 'revision_number', 'provider:network_type', 'provider:segmentation_id', 'is_default',
] as const;

/** A network as Neutron shows it. */
export function networkView(n: Network, subnetIds: string[], caller: Caller): View {
  return {
    id: n.id,
    name: n.name,
    description: n.description,
    tenant_id: n.project_id,
    project_id: n.project_id,
    admin_state_up: n.admin_state_up,
    status: n.admin_state_up ? 'ACTIVE' : 'DOWN',
    shared: n.shared,
    'router:external': n.router_external,
    subnets: subnetIds,
    mtu: n.mtu,
    port_security_enabled: n.port_security_enabled,
    availability_zone_hints: [],
    availability_zones: [config().DEFAULT_AVAILABILITY_ZONE],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    is_default: false,
    l2_adjacency: true,
    dns_domain: '',
    tags: [],
    revision_number: n.revision_number,
    created_at: isoSeconds(n.created_at),
    updated_at: isoSeconds(n.updated_at),
    // Neutron shows the provider attributes to admins only.
    ...(isAdmin(caller)
      ? {
          'provider:network_type': n.router_external ? 'flat' : 'vxlan',
          'provider:physical_network': n.router_external ? 'public' : null,
          'provider:segmentation_id': n.router_external ? null : n.vni,
        }
      : {}),
  };
}

export const isoSeconds = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');

/** A network the caller may see, or Neutron's 404 (another project's network does not exist for it). */
export async function visibleNetwork(caller: Caller, id: string): Promise<Network> {
  const network = await getNetwork(id);
  if (!network || !networkVisibleTo(caller, network)) throw new NetworkNotFound(id);
  return network;
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  const [networks, subnets] = await Promise.all([listNetworks(), listSubnets()]);
  const byNetwork = groupIds(subnets);
  const views = networks.filter((n) => networkVisibleTo(req.auth, n)).map((n) => networkView(n, byNetwork.get(n.id) ?? [], req.auth));
  return json(200, { networks: applyListQuery(views, req.query, NETWORK_ATTRIBUTES) });
}

function groupIds(subnets: Subnet[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of subnets) out.set(s.network_id, [...(out.get(s.network_id) ?? []), s.id]);
  return out;
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  const network = await visibleNetwork(req.auth, req.params.network_id);
  return json(200, { network: pickFields(await viewWithSubnets(network, req.auth), req.query) });
}

async function viewWithSubnets(network: Network, caller: Caller): Promise<View> {
  const subnets = await listNetworkSubnets(network.id);
  return networkView(network, subnets.map((s) => s.id), caller);
}

/** Only admins may make a network shared or external (Neutron's create_network:shared and :router:external rules). */
function checkAdminOnly(caller: Caller, body: Partial<Record<'shared' | 'router:external', boolean>>, action: string) {
  if (isAdmin(caller)) return;
  for (const attr of ['shared', 'router:external'] as const) {
    if (body[attr] !== undefined) throw new NotAuthorized(`(rule:${action}:${attr}) is disallowed by policy`);
  }
}

function checkMtu(mtu: number | undefined, external: boolean) {
  const max = external ? EXTERNAL_NETWORK_MTU : TENANT_NETWORK_MTU;
  if (mtu !== undefined && mtu > max) throw new InvalidInput(`Requested MTU is too big, maximum is ${max}`);
}

async function create(req: ApiRequest): Promise<ApiResponse> {
  const { network: body } = parseBody(req, CreateSchema);
  checkAdminOnly(req.auth, body, 'create_network');
  const external = body['router:external'] ?? false;
  checkMtu(body.mtu, external);
  const network = await createNetwork({
    ...newStandardAttributes(owningProject(req.auth, body), body),
    admin_state_up: body.admin_state_up ?? true,
    shared: body.shared ?? false,
    router_external: external,
    mtu: body.mtu ?? (external ? EXTERNAL_NETWORK_MTU : TENANT_NETWORK_MTU),
    port_security_enabled: body.port_security_enabled ?? true,
  });
  return json(201, { network: networkView(network, [], req.auth) });
}

async function update(req: ApiRequest): Promise<ApiResponse> {
  const { network: body } = parseBody(req, UpdateSchema);
  const current = await visibleNetwork(req.auth, req.params.network_id);
  if (!ownsOrAdmin(req.auth, current)) throw new NotAuthorized('(rule:update_network) is disallowed by policy');
  checkAdminOnly(req.auth, body, 'update_network');
  checkMtu(body.mtu, body['router:external'] ?? current.router_external);
  const changes: Partial<Network> = {
    ...(body.name !== undefined && { name: body.name }),
    ...(body.description !== undefined && { description: body.description }),
    ...(body.admin_state_up !== undefined && { admin_state_up: body.admin_state_up }),
    ...(body.shared !== undefined && { shared: body.shared }),
    ...(body['router:external'] !== undefined && { router_external: body['router:external'] }),
    ...(body.mtu !== undefined && { mtu: body.mtu }),
    ...(body.port_security_enabled !== undefined && { port_security_enabled: body.port_security_enabled }),
  };
  const network = await updateNetwork(current, changes);
  return json(200, { network: await viewWithSubnets(network, req.auth) });
}

/** Ports the network service made on its own (DHCP, the hosts' gateway addresses) go with it; any other port keeps it in use (409). */
async function remove(req: ApiRequest): Promise<ApiResponse> {
  const network = await visibleNetwork(req.auth, req.params.network_id);
  if (!ownsOrAdmin(req.auth, network)) throw new NotAuthorized('(rule:delete_network) is disallowed by policy');
  const [ports, subnets] = await Promise.all([listNetworkPorts(network.id), listNetworkSubnets(network.id)]);
  if (ports.some((p) => p.device_owner !== DeviceOwner.dhcp && p.device_owner !== DeviceOwner.agentGateway)) throw new NetworkInUse(network.id);
  await deleteNetworkItem(network, [...ports.flatMap(deletePortSteps), ...subnets.flatMap(deleteSubnetSteps)]);
  return json(204);
}

export const networkResourceRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/networks', service: 'network', handler: list },
  { method: 'POST', path: '/networking/v2.0/networks', service: 'network', handler: create },
  { method: 'GET', path: '/networking/v2.0/networks/{network_id}', service: 'network', handler: show },
  { method: 'PUT', path: '/networking/v2.0/networks/{network_id}', service: 'network', handler: update },
  { method: 'DELETE', path: '/networking/v2.0/networks/{network_id}', service: 'network', handler: remove },
];
