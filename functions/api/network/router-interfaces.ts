import { z } from 'zod';
import {
  BadRouterRequest,
  PortInUse,
  PortNotFound,
  RouterInterfaceInUseByFloatingIP,
  RouterInterfaceNotFound,
  RouterInterfaceNotFoundForSubnet,
  SubnetNotFound,
} from '../../../shared/domain/network/errors.js';
import { contains, overlaps, parseCidr, toInt } from '../../../shared/domain/network/ipv4.js';
import { DeviceOwner, networkOwnedPort, type Port } from '../../../shared/domain/network/port.js';
import type { Router } from '../../../shared/domain/network/router.js';
import type { Subnet } from '../../../shared/domain/network/subnet.js';
import { listFloatingIps } from '../../../shared/store/network/floating-ips.js';
import { getNetwork } from '../../../shared/store/network/networks.js';
import { createPort, deletePortSteps, getPort } from '../../../shared/store/network/ports.js';
import { parents, updateResource } from '../../../shared/store/network/resource-table.js';
import { listRouterPorts, recordNewRouterPort, updateRouter } from '../../../shared/store/network/routers.js';
import { getSubnet } from '../../../shared/store/network/subnets.js';
import { syncNetworkHosts, syncRouterHosts } from '../../../shared/network-plan/sync.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { type Caller } from '../identity/token-context.js';
import { networkUsableBy, ownsOrAdmin } from './access.js';
import { type View } from './list-query.js';
import { visibleSubnet } from './subnets.js';
import { visibleRouter } from './routers.js';

/** A router's interfaces: add_router_interface and remove_router_interface (Neutron's L3 extension). */

const InterfaceSchema = z.strictObject({ subnet_id: z.string(), port_id: z.string() }).partial();

const interfacePorts = async (routerId: string) => (await listRouterPorts(routerId)).filter((p) => p.device_owner === DeviceOwner.routerInterface);

/** Neutron's answer to add/remove_router_interface. */
function interfaceInfo(router: Router, port: Port, subnetIds: string[]): View {
  return {
    id: router.id,
    tenant_id: router.project_id,
    project_id: router.project_id,
    port_id: port.id,
    network_id: port.network_id,
    subnet_id: subnetIds[0],
    subnet_ids: subnetIds,
  };
}

function checkInterfaceRequest(body: { subnet_id?: string; port_id?: string }) {
  if (body.subnet_id && body.port_id) throw new BadRouterRequest('Cannot specify both subnet-id and port-id');
  if (!body.subnet_id && !body.port_id) throw new BadRouterRequest('Either subnet_id or port_id must be specified');
}

/** A subnet joins a router once, and not one overlapping a subnet it is on already (400, as Neutron). */
async function checkNotOnRouter(interfaces: Port[], subnet: Subnet) {
  const cidr = parseCidr(subnet.cidr);
  for (const ip of interfaces.flatMap((p) => p.fixed_ips)) {
    if (ip.subnet_id === subnet.id) throw new BadRouterRequest(`Router already has a port on subnet ${subnet.id}`);
    const other = await getSubnet(ip.subnet_id);
    if (other && overlaps(cidr, parseCidr(other.cidr))) {
      throw new BadRouterRequest(`Cidr ${subnet.cidr} of subnet ${subnet.id} overlaps with cidr ${other.cidr} of subnet ${other.id}`);
    }
  }
}

/**
 * `{subnet_id}`: a new port on the subnet's network holding its gateway address; `{port_id}`: an
 * unbound port of the caller's becomes the interface. Either way the router's revision moves with it.
 */
async function addInterface(req: ApiRequest): Promise<ApiResponse> {
  const response = await addInterfacePort(req);
  await syncRouterHosts(req.params.router_id, req.requestId);
  return response;
}

async function addInterfacePort(req: ApiRequest): Promise<ApiResponse> {
  const body = parseBody(req, InterfaceSchema);
  checkInterfaceRequest(body);
  const router = await visibleRouter(req.auth, req.params.router_id);
  const interfaces = await interfacePorts(router.id);
  if (body.port_id) return json(200, await attachExistingPort(req.auth, router, interfaces, body.port_id));
  const subnet = await visibleSubnet(req.auth, body.subnet_id!);
  const network = await getNetwork(subnet.network_id);
  if (!network || !(ownsOrAdmin(req.auth, subnet) || networkUsableBy(req.auth, network))) throw new SubnetNotFound(subnet.id);
  if (!subnet.gateway_ip) throw new BadRouterRequest('Subnet for router interface must have a gateway IP');
  await checkNotOnRouter(interfaces, subnet);
  const port = await addSubnetInterface(router, { ...subnet, gateway_ip: subnet.gateway_ip });
  return json(200, interfaceInfo(router, port, [subnet.id]));
}

/** The router's interface on a subnet: a port holding the subnet's gateway address. */
export async function addSubnetInterface(router: Router, subnet: Subnet & { gateway_ip: string }): Promise<Port> {
  const port = await createPort(
    networkOwnedPort(subnet.project_id, { network_id: subnet.network_id, device_id: router.id, device_owner: DeviceOwner.routerInterface }),
    [{ subnet, ip_address: subnet.gateway_ip }],
  );
  await recordNewRouterPort(router, port);
  return port;
}

async function attachExistingPort(caller: Caller, router: Router, interfaces: Port[], portId: string): Promise<View> {
  const port = await getPort(portId);
  if (!port || !ownsOrAdmin(caller, port)) throw new PortNotFound(portId);
  if (port.device_id) throw new PortInUse(port.id, port.device_id);
  const subnetIds = [...new Set(port.fixed_ips.map((ip) => ip.subnet_id))];
  if (subnetIds.length === 0) throw new BadRouterRequest('Router port must have at least one fixed IP');
  if (subnetIds.length > 1) throw new BadRouterRequest('Cannot have multiple IPv4 subnets on router port');
  const subnet = await getSubnet(subnetIds[0]);
  if (!subnet) throw new SubnetNotFound(subnetIds[0]);
  await checkNotOnRouter(interfaces, subnet);
  const changes = { device_id: router.id, device_owner: DeviceOwner.routerInterface };
  const portItem = updateResource('PORT', port, changes, { indexes: { gsi3pk: parents.devicePorts(router.id), gsi3sk: port.id } });
  await updateRouter(router, {}, [{ item: portItem }]);
  return interfaceInfo(router, { ...port, ...changes }, subnetIds);
}

/** Takes an interface off the router by subnet or port, and deletes its port (Neutron does, either way). */
async function removeInterface(req: ApiRequest): Promise<ApiResponse> {
  const body = parseBody(req, InterfaceSchema);
  if (!body.subnet_id && !body.port_id) throw new BadRouterRequest('Either subnet_id or port_id must be specified');
  const router = await visibleRouter(req.auth, req.params.router_id);
  const interfaces = await interfacePorts(router.id);
  const onSubnet = (p: Port) => p.fixed_ips.some((ip) => ip.subnet_id === body.subnet_id);
  let port: Port | undefined;
  if (body.port_id) {
    port = interfaces.find((p) => p.id === body.port_id);
    if (!port) throw new RouterInterfaceNotFound(router.id, body.port_id);
    if (body.subnet_id && !onSubnet(port)) throw new BadRouterRequest(`Subnet ${body.subnet_id} does not match with the port ${port.id}`);
  } else {
    port = interfaces.find(onSubnet);
    if (!port) throw new RouterInterfaceNotFoundForSubnet(router.id, body.subnet_id!);
  }
  const subnetIds = [...new Set(port.fixed_ips.map((ip) => ip.subnet_id))];
  await checkInterfaceUnused(router, subnetIds);
  await updateRouter(router, {}, deletePortSteps(port));
  await syncNetworkHosts([port.network_id], req.requestId);
  return json(200, interfaceInfo(router, port, subnetIds));
}

/** Floating IPs that reach fixed addresses of these subnets through the router keep its interface (409). */
async function checkInterfaceUnused(router: Router, subnetIds: string[]) {
  const fips = (await listFloatingIps()).filter((f) => f.router_id === router.id && f.fixed_ip_address);
  if (fips.length === 0) return;
  for (const id of subnetIds) {
    const subnet = await getSubnet(id);
    if (subnet && fips.some((f) => contains(parseCidr(subnet.cidr), toInt(f.fixed_ip_address!)))) {
      throw new RouterInterfaceInUseByFloatingIP(router.id, id);
    }
  }
}

export const routerInterfaceRoutes: Route[] = [
  { method: 'PUT', path: '/networking/v2.0/routers/{router_id}/add_router_interface', service: 'network', handler: addInterface },
  { method: 'PUT', path: '/networking/v2.0/routers/{router_id}/remove_router_interface', service: 'network', handler: removeInterface },
];
