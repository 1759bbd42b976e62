import { z } from 'zod';
import { InvalidAllocationPool, InvalidInput, NotAuthorized, SubnetInUse, SubnetNotFound } from '../../../shared/domain/network/errors.js';
import { cidrText, defaultPools, isIpv4, overlaps, parseCidr, toAddress, toInt, usableRange, type Cidr } from '../../../shared/domain/network/ipv4.js';
import { newStandardAttributes, type Network } from '../../../shared/domain/network/network.js';
import { DeviceOwner, networkOwnedPort } from '../../../shared/domain/network/port.js';
import type { Subnet } from '../../../shared/domain/network/subnet.js';
import { getNetwork, listNetworks } from '../../../shared/store/network/networks.js';
import { createPort, deletePort, deletePortSteps, listNetworkPorts } from '../../../shared/store/network/ports.js';
import { createSubnet, deleteSubnetSteps, getSubnet, listNetworkSubnets, listSubnets, updateSubnet } from '../../../shared/store/network/subnets.js';
import { runSteps } from '../../../shared/store/network/transaction.js';
import { syncNetworkHosts } from '../../../shared/network-plan/sync.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import type { Caller } from '../identity/token-context.js';
import { networkVisibleTo, ownsOrAdmin } from './access.js';
import { applyListQuery, pickFields, type View } from './list-query.js';
import { isoSeconds, visibleNetwork } from './networks.js';

const ipv4 = z.string().refine(isIpv4, "is not a valid IPv4 address");
const SubnetFields = {
  name: z.string().max(255),
  description: z.string().max(255),
  gateway_ip: ipv4.nullable(),
  allocation_pools: z.array(z.strictObject({ start: ipv4, end: ipv4 })),
  dns_nameservers: z.array(ipv4),
  host_routes: z.array(z.strictObject({ destination: z.string(), nexthop: ipv4 })),
  enable_dhcp: z.boolean(),
};
const CreateSchema = z.strictObject({
  subnet: z.strictObject({
    ...SubnetFields,
    network_id: z.string(),
    cidr: z.string(),
    ip_version: z.union([z.literal(4), z.literal(6)]),
    project_id: z.string(),
    tenant_id: z.string(),
    subnetpool_id: z.null(),
    ipv6_address_mode: z.null(),
    ipv6_ra_mode: z.null(),
  }).partial().required({ network_id: true, ip_version: true }),
});
const UpdateSchema = z.strictObject({ subnet: z.strictObject(SubnetFields).omit({ allocation_pools: true }).partial() });

export const SUBNET_ATTRIBUTES = [
  'id', 'name', 'description', 'tenant_id', 'project_id', 'network_id', 'ip_version', 'cidr', 'gateway_ip', 'enable_dhcp', 'revision_number',
] as const;

export function subnetView(s: Subnet): View {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    tenant_id: s.project_id,
    project_id: s.project_id,
    network_id: s.network_id,
    ip_version: 4,
    cidr: s.cidr,
    gateway_ip: s.gateway_ip,
    allocation_pools: s.allocation_pools,
    dns_nameservers: s.dns_nameservers,
    host_routes: s.host_routes,
    enable_dhcp: s.enable_dhcp,
    ipv6_address_mode: null,
    ipv6_ra_mode: null,
    subnetpool_id: null,
    service_types: [],
    dns_publish_fixed_ip: false,
    tags: [],
    revision_number: s.revision_number,
    created_at: isoSeconds(s.created_at),
    updated_at: isoSeconds(s.updated_at),
  };
}

/** A subnet the caller may see (its network's visibility), or 404. */
export async function visibleSubnet(caller: Caller, id: string): Promise<Subnet> {
  const subnet = await getSubnet(id);
  const network = subnet && (await getNetwork(subnet.network_id));
  if (!subnet || !network || !(ownsOrAdmin(caller, subnet) || networkVisibleTo(caller, network))) throw new SubnetNotFound(id);
  return subnet;
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  const [subnets, networks] = await Promise.all([listSubnets(), listNetworks()]);
  const visible = new Set(networks.filter((n) => networkVisibleTo(req.auth, n)).map((n) => n.id));
  const views = subnets.filter((s) => ownsOrAdmin(req.auth, s) || visible.has(s.network_id)).map(subnetView);
  return json(200, { subnets: applyListQuery(views, req.query, SUBNET_ATTRIBUTES) });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { subnet: pickFields(subnetView(await visibleSubnet(req.auth, req.params.subnet_id)), req.query) });
}

function parseSubnetCidr(text: string | undefined): Cidr {
  if (!text) throw new InvalidInput('cidr is required (subnet pools are not offered)');
  try {
    const cidr = parseCidr(text);
    if (cidr.prefix > 30) throw new Error(`'${text}' is too small: a subnet needs at least a /30`);
    return cidr;
  } catch (err) {
    throw new InvalidInput(`Invalid input for cidr. Reason: ${(err as Error).message}`);
  }
}

function checkGateway(cidr: Cidr, gateway: string | null) {
  if (gateway === null) return;
  const { first, last } = usableRange(cidr);
  const n = toInt(gateway);
  if (n < first || n > last) throw new InvalidInput(`Gateway is not valid on subnet`);
}

/** Pools inside the subnet, apart from each other and from the gateway (Neutron's checks). */
function checkPools(cidr: Cidr, gateway: string | null, pools: { start: string; end: string }[]) {
  const { first, last } = usableRange(cidr);
  const ranges = pools.map((p) => ({ text: `${p.start}-${p.end}`, a: toInt(p.start), b: toInt(p.end) }));
  for (const r of ranges) {
    if (r.a > r.b) throw new InvalidInput(`Invalid input for allocation_pools. Reason: start ${toAddress(r.a)} is after end ${toAddress(r.b)}`);
    if (r.a < first || r.b > last) throw new InvalidAllocationPool(r.text);
    if (gateway !== null && toInt(gateway) >= r.a && toInt(gateway) <= r.b) throw new InvalidInput(`Gateway ip ${gateway} conflicts with allocation pool ${r.text}`);
  }
  for (const [i, r] of ranges.entries()) {
    for (const o of ranges.slice(i + 1)) {
      if (r.a <= o.b && o.a <= r.b) throw new InvalidInput(`Found overlapping allocation pools: ${r.text} and ${o.text}`);
    }
  }
}

function checkHostRoutes(routes: { destination: string; nexthop: string }[]) {
  for (const r of routes) {
    try {
      parseCidr(r.destination);
    } catch (err) {
      throw new InvalidInput(`Invalid input for host_routes. Reason: ${(err as Error).message}`);
    }
  }
}

async function create(req: ApiRequest): Promise<ApiResponse> {
  const { subnet: body } = parseBody(req, CreateSchema);
  if (body.ip_version !== 4) throw new InvalidInput('IPv6 subnets are not offered by this cloud (IPv4 only)');
  const network = await visibleNetwork(req.auth, body.network_id);
  if (!ownsOrAdmin(req.auth, network)) throw new NotAuthorized('(rule:create_subnet) is disallowed by policy');
  const cidr = parseSubnetCidr(body.cidr);
  const gateway = body.gateway_ip === undefined ? toAddress(usableRange(cidr).first) : body.gateway_ip;
  checkGateway(cidr, gateway);
  const pools = body.allocation_pools ?? defaultPools(cidr, gateway === null ? null : toInt(gateway));
  checkPools(cidr, gateway, pools);
  checkHostRoutes(body.host_routes ?? []);
  for (const other of await listNetworkSubnets(network.id)) {
    if (overlaps(cidr, parseCidr(other.cidr))) {
      throw new InvalidInput(`Requested subnet with cidr: ${cidrText(cidr)} for network: ${network.id} overlaps with another subnet`);
    }
  }
  const subnet = await createSubnet({
    ...newStandardAttributes(network.project_id, body),
    network_id: network.id,
    ip_version: 4,
    cidr: cidrText(cidr),
    gateway_ip: gateway,
    allocation_pools: pools,
    dns_nameservers: body.dns_nameservers ?? [],
    host_routes: body.host_routes ?? [],
    enable_dhcp: body.enable_dhcp ?? true,
  });
  if (subnet.enable_dhcp) await addDhcpPort(network, subnet);
  return json(201, { subnet: subnetView(subnet) });
}

/**
 * The subnet's DHCP server address, as a `network:dhcp` port (Neutron makes one per DHCP agent;
 * here every host's DHCP server answers on this one address, for its own guests only).
 */
export async function addDhcpPort(network: Network, subnet: Subnet): Promise<void> {
  await createPort(networkOwnedPort(network.project_id, { network_id: network.id, device_id: dhcpDeviceId(subnet.id), device_owner: DeviceOwner.dhcp }), [{ subnet }]);
}

const dhcpDeviceId = (subnetId: string) => `dhcp-${subnetId}`;

async function update(req: ApiRequest): Promise<ApiResponse> {
  const { subnet: body } = parseBody(req, UpdateSchema);
  const current = await visibleSubnet(req.auth, req.params.subnet_id);
  if (!ownsOrAdmin(req.auth, current)) throw new NotAuthorized('(rule:update_subnet) is disallowed by policy');
  const cidr = parseCidr(current.cidr);
  if (body.gateway_ip !== undefined) {
    checkGateway(cidr, body.gateway_ip);
    checkPools(cidr, body.gateway_ip, current.allocation_pools);
  }
  checkHostRoutes(body.host_routes ?? []);
  const subnet = await updateSubnet(current, body);
  const dhcpPort = (await listNetworkPorts(subnet.network_id)).find((p) => p.device_id === dhcpDeviceId(subnet.id));
  if (subnet.enable_dhcp && !dhcpPort) await addDhcpPort((await getNetwork(subnet.network_id))!, subnet);
  if (!subnet.enable_dhcp && dhcpPort) await deletePort(dhcpPort);
  await syncNetworkHosts([subnet.network_id], req.requestId);
  return json(200, { subnet: subnetView(subnet) });
}

/** A subnet with addresses in use by any port but its DHCP port is in use (409). */
async function remove(req: ApiRequest): Promise<ApiResponse> {
  const subnet = await visibleSubnet(req.auth, req.params.subnet_id);
  if (!ownsOrAdmin(req.auth, subnet)) throw new NotAuthorized('(rule:delete_subnet) is disallowed by policy');
  const ports = (await listNetworkPorts(subnet.network_id)).filter((p) => p.fixed_ips.some((ip) => ip.subnet_id === subnet.id));
  if (ports.some((p) => p.device_id !== dhcpDeviceId(subnet.id))) throw new SubnetInUse(subnet.id);
  await runSteps([...deleteSubnetSteps(subnet), ...ports.flatMap(deletePortSteps)]);
  return json(204);
}

export const subnetRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/subnets', service: 'network', handler: list },
  { method: 'POST', path: '/networking/v2.0/subnets', service: 'network', handler: create },
  { method: 'GET', path: '/networking/v2.0/subnets/{subnet_id}', service: 'network', handler: show },
  { method: 'PUT', path: '/networking/v2.0/subnets/{subnet_id}', service: 'network', handler: update },
  { method: 'DELETE', path: '/networking/v2.0/subnets/{subnet_id}', service: 'network', handler: remove },
];
