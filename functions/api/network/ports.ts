import { randomUUID } from 'node:crypto';
import type { Network } from '../../../shared/domain/network/network.js';
import { z } from 'zod';
import { InvalidInput, InvalidIpForSubnet, L3PortInUse, NotAuthorized, PortNotFound } from '../../../shared/domain/network/errors.js';
import { contains, isIpv4, parseCidr, toInt, usableRange } from '../../../shared/domain/network/ipv4.js';
import { DeviceOwner, isMac, type Port } from '../../../shared/domain/network/port.js';
import { createPort, deletePort, getPort, listDevicePorts, listNetworkPorts, listPorts, updatePort, type AddressRequest } from '../../../shared/store/network/ports.js';
import { securityGroupIdsForPort } from '../../../shared/store/network/security-groups.js';
import { disassociatePortFloatingIps } from '../../../shared/store/network/floating-ips.js';
import { refreshDeviceAddresses } from '../../../shared/store/network/device-ports.js';
import { syncPortHosts } from '../../../shared/network-plan/sync.js';
import { listNetworkSubnets } from '../../../shared/store/network/subnets.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { isAdmin, type Caller } from '../identity/token-context.js';
import { networkUsableBy, ownsOrAdmin, owningProject } from './access.js';
import { applyListQuery, pickFields, type View } from './list-query.js';
import { isoSeconds, visibleNetwork } from './networks.js';

const FixedIpRequestSchema = z.strictObject({ subnet_id: z.string().optional(), ip_address: z.string().refine(isIpv4, 'is not a valid IPv4 address').optional() });
const AddressPairRequestSchema = z.strictObject({ ip_address: z.string(), mac_address: z.string().refine(isMac, 'is not a valid MAC address').optional() });
const PortFields = {
  name: z.string().max(255),
  description: z.string().max(255),
  admin_state_up: z.boolean(),
  device_id: z.string().max(255),
  device_owner: z.string().max(255),
  security_groups: z.array(z.string()).nullable(),
  port_security_enabled: z.boolean(),
  allowed_address_pairs: z.array(AddressPairRequestSchema),
  'binding:host_id': z.string(),
  'binding:vnic_type': z.literal('normal'),
  'binding:profile': z.record(z.string(), z.unknown()),
  dns_name: z.string(),
};
const CreateSchema = z.strictObject({
  port: z
    .strictObject({
      ...PortFields,
      network_id: z.string(),
      mac_address: z.string().refine(isMac, 'is not a valid MAC address'),
      fixed_ips: z.array(FixedIpRequestSchema),
      project_id: z.string(),
      tenant_id: z.string(),
    })
    .partial()
    .required({ network_id: true }),
});
const UpdateSchema = z.strictObject({ port: z.strictObject(PortFields).partial() });

export const PORT_ATTRIBUTES = [
  'id', 'name', 'description', 'tenant_id', 'project_id', 'network_id', 'mac_address', 'device_id', 'device_owner', 'status', 'admin_state_up',
  'binding:host_id', 'port_security_enabled', 'security_groups', 'revision_number',
] as const;

/** `fixed_ips=ip_address=…` / `fixed_ips=subnet_id=…`, as Neutron filters ports by address. */
const fixedIpsFilter = (view: View, value: string) => {
  const [key, wanted] = value.split('=', 2);
  return (view.fixed_ips as { subnet_id: string; ip_address: string }[]).some((ip) => ip[key as 'subnet_id' | 'ip_address'] === wanted);
};

export function portView(p: Port, caller: Caller): View {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    tenant_id: p.project_id,
    project_id: p.project_id,
    network_id: p.network_id,
    mac_address: p.mac_address,
    fixed_ips: p.fixed_ips,
    device_id: p.device_id,
    device_owner: p.device_owner,
    admin_state_up: p.admin_state_up,
    status: p.status,
    security_groups: p.security_groups,
    port_security_enabled: p.port_security_enabled,
    allowed_address_pairs: p.allowed_address_pairs,
    extra_dhcp_opts: [],
    dns_name: '',
    dns_assignment: [],
    qos_policy_id: null,
    propagate_uplink_status: false,
    tags: [],
    revision_number: p.revision_number,
    created_at: isoSeconds(p.created_at),
    updated_at: isoSeconds(p.updated_at),
    // Neutron shows the binding attributes to admins only.
    ...(isAdmin(caller)
      ? {
          'binding:host_id': p.binding_host_id,
          'binding:vif_type': p.binding_host_id ? 'tap' : 'unbound',
          'binding:vif_details': {},
          'binding:vnic_type': 'normal',
          'binding:profile': {},
        }
      : { 'binding:vnic_type': 'normal' }),
  };
}

export async function visiblePort(caller: Caller, id: string): Promise<Port> {
  const port = await getPort(id);
  if (!port || !ownsOrAdmin(caller, port)) throw new PortNotFound(id);
  return port;
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  const networkId = req.query.get('network_id');
  const deviceId = req.query.get('device_id');
  // The index answers the common filters (Nova and the CLI ask by device); other filters narrow a full read.
  const ports = deviceId && req.query.getAll('device_id').length === 1 ? await listDevicePorts(deviceId)
    : networkId && req.query.getAll('network_id').length === 1 ? await listNetworkPorts(networkId)
    : await listPorts();
  const views = ports.filter((p) => ownsOrAdmin(req.auth, p)).map((p) => portView(p, req.auth));
  return json(200, { ports: applyListQuery(views, req.query, PORT_ATTRIBUTES, { fixed_ips: fixedIpsFilter }) });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { port: pickFields(portView(await visiblePort(req.auth, req.params.port_id), req.auth), req.query) });
}

/**
 * What addresses a new port asks for, checked against the network's subnets: none given → one
 * from the first subnet; `subnet_id` → any of that subnet; `ip_address` → that address, on the
 * subnet that holds it (never its network, broadcast or gateway address).
 */
export async function addressRequests(network: Network, fixedIps: z.infer<typeof FixedIpRequestSchema>[] | undefined): Promise<AddressRequest[]> {
  const subnets = await listNetworkSubnets(network.id);
  if (fixedIps === undefined) return subnets.length ? [{ subnet: subnets[0] }] : [];
  return fixedIps.map((wanted) => {
    const subnet = wanted.subnet_id
      ? subnets.find((s) => s.id === wanted.subnet_id)
      : subnets.find((s) => wanted.ip_address && contains(parseCidr(s.cidr), toInt(wanted.ip_address)));
    if (!subnet) {
      if (wanted.subnet_id) throw new InvalidInput(`Failed to create port on network ${network.id}, because fixed_ips included invalid subnet ${wanted.subnet_id}`);
      throw new InvalidInput(`IP address ${wanted.ip_address} is not a valid IP for any subnet on network ${network.id}`);
    }
    if (wanted.ip_address) {
      const { first, last } = usableRange(parseCidr(subnet.cidr));
      const n = toInt(wanted.ip_address);
      if (n < first || n > last || wanted.ip_address === subnet.gateway_ip) throw new InvalidIpForSubnet(wanted.ip_address);
    }
    return { subnet, ip_address: wanted.ip_address };
  });
}

async function create(req: ApiRequest): Promise<ApiResponse> {
  const { port: body } = parseBody(req, CreateSchema);
  const network = await visibleNetwork(req.auth, body.network_id);
  if (!networkUsableBy(req.auth, network) && !isAdmin(req.auth)) throw new NotAuthorized('(rule:create_port) is disallowed by policy');
  if ((body['binding:host_id'] !== undefined || body.mac_address !== undefined) && !isAdmin(req.auth) && network.project_id !== req.auth.project_id) {
    throw new NotAuthorized('(rule:create_port:mac_address) is disallowed by policy');
  }
  const projectId = owningProject(req.auth, body);
  const portSecurity = body.port_security_enabled ?? network.port_security_enabled;
  checkPortSecurity(portSecurity, body.security_groups, body.allowed_address_pairs);
  const requests = await addressRequests(network, body.fixed_ips);
  const securityGroups = portSecurity ? await securityGroupIdsForPort(projectId, body.security_groups ?? undefined) : [];
  const now = new Date().toISOString();
  const port = await createPort(
    {
      id: randomUUID(),
      project_id: projectId,
      name: body.name ?? '',
      description: body.description ?? '',
      revision_number: 1,
      created_at: now,
      updated_at: now,
      network_id: network.id,
      mac_address: body.mac_address?.toLowerCase(),
      device_id: body.device_id ?? '',
      device_owner: body.device_owner ?? '',
      admin_state_up: body.admin_state_up ?? true,
      status: 'DOWN',
      binding_host_id: body['binding:host_id'] ?? '',
      security_groups: securityGroups,
      port_security_enabled: portSecurity,
      allowed_address_pairs: (body.allowed_address_pairs ?? []).map((p) => ({ ip_address: p.ip_address, mac_address: p.mac_address ?? '' })),
      delete_with_device: false,
    },
    requests,
  );
  return json(201, { port: portView(port, req.auth) });
}

/** Neutron: a port without port security takes no security groups and no address pairs. */
function checkPortSecurity(enabled: boolean, groups: string[] | null | undefined, pairs: unknown[] | undefined) {
  if (enabled) return;
  if (groups?.length) throw new InvalidInput('Port has security group associated. Cannot disable port security or ip address until security group is removed');
  if (pairs?.length) throw new InvalidInput('Port Security must be enabled in order to have allowed address pairs on a port.');
}

async function update(req: ApiRequest): Promise<ApiResponse> {
  const { port: body } = parseBody(req, UpdateSchema);
  const current = await visiblePort(req.auth, req.params.port_id);
  if (NETWORK_OWNED.has(current.device_owner) && (body.device_id !== undefined || body.device_owner !== undefined)) {
    throw new L3PortInUse(current.id, current.device_owner);
  }
  if (body['binding:host_id'] !== undefined && !isAdmin(req.auth)) throw new NotAuthorized('(rule:update_port:binding:host_id) is disallowed by policy');
  const portSecurity = body.port_security_enabled ?? current.port_security_enabled;
  const groups = body.security_groups === null ? [] : body.security_groups;
  checkPortSecurity(portSecurity, groups ?? (body.port_security_enabled === false ? current.security_groups : undefined), body.allowed_address_pairs ?? (portSecurity ? undefined : current.allowed_address_pairs));
  const changes: Partial<Port> = {
    ...(body.name !== undefined && { name: body.name }),
    ...(body.description !== undefined && { description: body.description }),
    ...(body.admin_state_up !== undefined && { admin_state_up: body.admin_state_up }),
    ...(body.device_id !== undefined && { device_id: body.device_id }),
    ...(body.device_owner !== undefined && { device_owner: body.device_owner }),
    ...(body['binding:host_id'] !== undefined && { binding_host_id: body['binding:host_id'] }),
    ...(body.port_security_enabled !== undefined && { port_security_enabled: body.port_security_enabled }),
    ...(groups !== undefined && { security_groups: await securityGroupIdsForPort(current.project_id, groups) }),
    ...(body.allowed_address_pairs !== undefined && {
      allowed_address_pairs: body.allowed_address_pairs.map((p) => ({ ip_address: p.ip_address, mac_address: p.mac_address ?? current.mac_address })),
    }),
  };
  const port = await updatePort(current, changes);
  if (port.device_id) await refreshDeviceAddresses(port.device_id);
  await syncPortHosts([current, port], req.requestId);
  return json(200, { port: portView(port, req.auth) });
}

/** Ports the network service owns (routers, floating IPs, DHCP) go only with what owns them. */
const NETWORK_OWNED = new Set<string>([DeviceOwner.routerInterface, DeviceOwner.routerGateway, DeviceOwner.floatingIp, DeviceOwner.dhcp, DeviceOwner.agentGateway]);

/** Deleting a port drops its floating IP association first (as Neutron does) and then frees its addresses. */
async function remove(req: ApiRequest): Promise<ApiResponse> {
  const port = await visiblePort(req.auth, req.params.port_id);
  if (NETWORK_OWNED.has(port.device_owner)) throw new L3PortInUse(port.id, port.device_owner);
  await disassociatePortFloatingIps(port.id);
  await deletePort(port);
  if (port.device_id) await refreshDeviceAddresses(port.device_id);
  await syncPortHosts([port], req.requestId);
  return json(204);
}

export const portRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/ports', service: 'network', handler: list },
  { method: 'POST', path: '/networking/v2.0/ports', service: 'network', handler: create },
  { method: 'GET', path: '/networking/v2.0/ports/{port_id}', service: 'network', handler: show },
  { method: 'PUT', path: '/networking/v2.0/ports/{port_id}', service: 'network', handler: update },
  { method: 'DELETE', path: '/networking/v2.0/ports/{port_id}', service: 'network', handler: remove },
];
