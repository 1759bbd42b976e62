import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  BadFloatingIpRequest,
  BadRequestNotExternal,
  ExternalGatewayForFloatingIPNotFound,
  FloatingIPNotFound,
  FloatingIPPortAlreadyAssociated,
  NetworkNotFound,
  NotAuthorized,
  PortNotFound,
  SubnetNotFound,
} from '../../../shared/domain/network/errors.js';
import type { FloatingIp, FloatingIpAssociation } from '../../../shared/domain/network/floating-ip.js';
import { isIpv4 } from '../../../shared/domain/network/ipv4.js';
import { DeviceOwner, networkOwnedPort, type Port } from '../../../shared/domain/network/port.js';
import type { Subnet } from '../../../shared/domain/network/subnet.js';
import {
  NO_ASSOCIATION,
  createExternalPort,
  createFloatingIp,
  deleteFloatingIp,
  getFloatingIp,
  listFloatingIps,
  listPortFloatingIps,
  updateFloatingIp,
} from '../../../shared/store/network/floating-ips.js';
import { syncFloatingIpHosts } from '../../../shared/network-plan/sync.js';
import { getNetwork } from '../../../shared/store/network/networks.js';
import { getPort, listNetworkPorts } from '../../../shared/store/network/ports.js';
import { getRouter } from '../../../shared/store/network/routers.js';
import { getSubnet, listNetworkSubnets } from '../../../shared/store/network/subnets.js';
import { json, parseBody } from '../http/body.js';
import { refreshDeviceAddresses } from '../../../shared/store/network/device-ports.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { isAdmin, type Caller } from '../identity/token-context.js';
import { networkVisibleTo, ownsOrAdmin, owningProject } from './access.js';
import { applyListQuery, pickFields, type View } from './list-query.js';
import { isoSeconds } from './networks.js';

const ipv4 = z.string().refine(isIpv4, 'is not a valid IPv4 address');
const CreateSchema = z.strictObject({
  floatingip: z
    .strictObject({
      floating_network_id: z.string(),
      floating_ip_address: ipv4,
      subnet_id: z.string(),
      port_id: z.string().nullable(),
      fixed_ip_address: ipv4.nullable(),
      description: z.string().max(255),
      project_id: z.string(),
      tenant_id: z.string(),
    })
    .partial()
    .required({ floating_network_id: true }),
});
const UpdateSchema = z.strictObject({
  floatingip: z.strictObject({ port_id: z.string().nullable(), fixed_ip_address: ipv4.nullable(), description: z.string().max(255) }).partial(),
});

export const FLOATING_IP_ATTRIBUTES = [
  'id', 'floating_ip_address', 'floating_network_id', 'router_id', 'port_id', 'fixed_ip_address', 'status', 'tenant_id', 'project_id',
  'description', 'revision_number',
] as const;

/** A floating IP as Neutron shows it; `port` is the associated port, for `port_details`. */
export function floatingIpView(f: FloatingIp, port: Port | undefined): View {
  return {
    id: f.id,
    floating_ip_address: f.floating_ip_address,
    floating_network_id: f.floating_network_id,
    router_id: f.router_id,
    port_id: f.port_id,
    fixed_ip_address: f.fixed_ip_address,
    status: f.status,
    tenant_id: f.project_id,
    project_id: f.project_id,
    description: f.description,
    dns_domain: '',
    dns_name: '',
    port_details: port
      ? {
          name: port.name,
          network_id: port.network_id,
          mac_address: port.mac_address,
          admin_state_up: port.admin_state_up,
          status: port.status,
          device_id: port.device_id,
          device_owner: port.device_owner,
        }
      : null,
    port_forwardings: [],
    tags: [],
    qos_policy_id: null,
    revision_number: f.revision_number,
    created_at: isoSeconds(f.created_at),
    updated_at: isoSeconds(f.updated_at),
  };
}

const withPort = async (f: FloatingIp) => floatingIpView(f, (f.port_id && (await getPort(f.port_id))) || undefined);

/** A floating IP of the caller's project (any, for an admin), or Neutron's 404. */
async function visibleFloatingIp(caller: Caller, id: string): Promise<FloatingIp> {
  const fip = await getFloatingIp(id);
  if (!fip || !ownsOrAdmin(caller, fip)) throw new FloatingIPNotFound(id);
  return fip;
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  const fips = (await listFloatingIps()).filter((f) => ownsOrAdmin(req.auth, f));
  const views = await Promise.all(fips.map(withPort));
  return json(200, { floatingips: applyListQuery(views, req.query, FLOATING_IP_ATTRIBUTES) });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  const fip = await visibleFloatingIp(req.auth, req.params.floatingip_id);
  return json(200, { floatingip: pickFields(await withPort(fip), req.query) });
}

/** An association asked for, checked as Neutron does, with the port it binds to. */
interface Association extends FloatingIpAssociation {
  port_id: string;
  fixed_ip_address: string;
  router_id: string;
  internalPort: Port;
}

/**
 * Neutron's checks for associating a floating IP of `externalNetworkId` with a port: the port is
 * the caller's (else 404), not a network-owned port, with the fixed IPv4 address asked for (or
 * exactly one); some router has an interface on that address's subnet and its gateway on the
 * external network (else 404 ExternalGatewayForFloatingIPNotFound, which OSC's `server add floating
 * ip` takes as "try the next port"); no other floating IP of that network holds that fixed IP (409).
 */
async function resolveAssociation(
  caller: Caller,
  fip: Pick<FloatingIp, 'id' | 'floating_ip_address' | 'floating_network_id'>,
  portId: string,
  fixedIpAddress: string | null | undefined,
): Promise<Association> {
  const port = await getPort(portId);
  if (!port || !ownsOrAdmin(caller, port)) throw new PortNotFound(portId);
  if (port.device_owner.startsWith('network:')) throw new BadFloatingIpRequest(`Port ${port.id} is unable to be assigned a floating IP`);
  let fixed = port.fixed_ips[0];
  if (fixedIpAddress) {
    const asked = port.fixed_ips.find((ip) => ip.ip_address === fixedIpAddress);
    if (!asked) throw new BadFloatingIpRequest(`Port ${port.id} does not have fixed ip ${fixedIpAddress}`);
    fixed = asked;
  } else if (port.fixed_ips.length === 0) {
    throw new BadFloatingIpRequest(`Cannot add floating IP to port ${port.id} that has no fixed IPv4 addresses`);
  } else if (port.fixed_ips.length > 1) {
    throw new BadFloatingIpRequest(
      `Port ${port.id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP`,
    );
  }
  const subnet = await getSubnet(fixed.subnet_id);
  if (!subnet) throw new SubnetNotFound(fixed.subnet_id);
  const routerId = await routerBetween(port, subnet, fip.floating_network_id);
  const holder = (await listPortFloatingIps(port.id)).find(
    (f) => f.id !== fip.id && f.fixed_ip_address === fixed.ip_address && f.floating_network_id === fip.floating_network_id,
  );
  if (holder) {
    throw new FloatingIPPortAlreadyAssociated({
      floatingIpAddress: fip.floating_ip_address,
      floatingIpId: fip.id,
      portId: port.id,
      fixedIp: fixed.ip_address,
      networkId: fip.floating_network_id,
    });
  }
  return { port_id: port.id, fixed_ip_address: fixed.ip_address, router_id: routerId, internalPort: port };
}

/**
 * The router that joins the port's subnet to the external network: one with an interface on the
 * subnet and its gateway there, preferring the one holding the subnet's gateway address (as Neutron).
 */
async function routerBetween(port: Port, subnet: Subnet, externalNetworkId: string): Promise<string> {
  const interfaces = (await listNetworkPorts(port.network_id)).filter(
    (p) => p.device_owner === DeviceOwner.routerInterface && p.fixed_ips.some((ip) => ip.subnet_id === subnet.id),
  );
  const candidates: { routerId: string; onGateway: boolean }[] = [];
  for (const p of interfaces) {
    const router = await getRouter(p.device_id);
    if (router?.external_gateway?.network_id !== externalNetworkId) continue;
    candidates.push({ routerId: router.id, onGateway: p.fixed_ips.some((ip) => ip.ip_address === subnet.gateway_ip) });
  }
  const chosen = candidates.find((c) => c.onGateway) ?? candidates[0];
  if (!chosen) throw new ExternalGatewayForFloatingIPNotFound(subnet.id, externalNetworkId, port.id);
  return chosen.routerId;
}

const associationOf = ({ port_id, fixed_ip_address, router_id }: Association): FloatingIpAssociation => ({ port_id, fixed_ip_address, router_id });

/**
 * A floating IP of an external network: its address (a free one, or the one an admin names) held
 * by a `network:floatingip` port whose device is the floating IP; associated at once with `port_id`.
 * Everything is checked before anything is written, and a write that fails undoes the port.
 */
async function create(req: ApiRequest): Promise<ApiResponse> {
  const { floatingip: body } = parseBody(req, CreateSchema);
  const network = await getNetwork(body.floating_network_id);
  if (!network || !networkVisibleTo(req.auth, network)) throw new NetworkNotFound(body.floating_network_id);
  if (!network.router_external) throw new BadRequestNotExternal(network.id);
  if ((await listNetworkSubnets(network.id)).length === 0) throw new BadFloatingIpRequest(`Network ${network.id} does not contain any IPv4 subnet`);
  if (body.floating_ip_address && !isAdmin(req.auth)) {
    throw new NotAuthorized('(rule:create_floatingip and rule:create_floatingip:floating_ip_address) is disallowed by policy');
  }
  if (body.fixed_ip_address && !body.port_id) throw new BadFloatingIpRequest('fixed_ip_address cannot be specified without a port_id');
  const id = randomUUID();
  const projectId = owningProject(req.auth, body);
  const draft = { id, floating_ip_address: body.floating_ip_address ?? '', floating_network_id: network.id };
  const association = body.port_id ? await resolveAssociation(req.auth, draft, body.port_id, body.fixed_ip_address) : undefined;
  const now = new Date().toISOString();
  const port = await createExternalPort(
    network,
    networkOwnedPort(projectId, { network_id: network.id, device_id: id, device_owner: DeviceOwner.floatingIp }),
    { subnet_id: body.subnet_id, ip_address: body.floating_ip_address },
  );
  const fip = await createFloatingIp(
    {
      id,
      project_id: projectId,
      name: '',
      description: body.description ?? '',
      revision_number: 1,
      created_at: now,
      updated_at: now,
      floating_network_id: network.id,
      floating_ip_address: port.fixed_ips[0].ip_address,
      floating_port_id: port.id,
      ...(association ? associationOf(association) : NO_ASSOCIATION),
      status: association ? 'ACTIVE' : 'DOWN',
    },
    port,
    association && { internalPort: association.internalPort },
  );
  await refreshServersOf([fip.port_id]);
  await syncFloatingIpHosts([fip.port_id], req.requestId);
  return json(201, { floatingip: floatingIpView(fip, association?.internalPort) });
}

/** `{port_id}` associates (or moves), `{port_id: null}` disassociates; the write is conditional on the revision read. */
async function update(req: ApiRequest): Promise<ApiResponse> {
  const { floatingip: body } = parseBody(req, UpdateSchema);
  const current = await visibleFloatingIp(req.auth, req.params.floatingip_id);
  if (body.fixed_ip_address && !body.port_id) throw new BadFloatingIpRequest('fixed_ip_address cannot be specified without a port_id');
  const changes = body.description !== undefined ? { description: body.description } : {};
  let association: FloatingIpAssociation = { port_id: current.port_id, fixed_ip_address: current.fixed_ip_address, router_id: current.router_id };
  let internalPort: Port | null = null;
  if (body.port_id === null) association = NO_ASSOCIATION;
  else if (body.port_id) {
    const asked = await resolveAssociation(req.auth, current, body.port_id, body.fixed_ip_address);
    association = associationOf(asked);
    internalPort = asked.internalPort;
  }
  const fip = await updateFloatingIp(current, association, internalPort, changes);
  await refreshServersOf([current.port_id, fip.port_id]);
  await syncFloatingIpHosts([current.port_id, fip.port_id], req.requestId);
  return json(200, { floatingip: await withPort(fip) });
}

/** Deletes the floating IP and frees its address (its port) in one conditional write: exactly once. */
async function remove(req: ApiRequest): Promise<ApiResponse> {
  const fip = await visibleFloatingIp(req.auth, req.params.floatingip_id);
  await deleteFloatingIp(fip, await getPort(fip.floating_port_id));
  await refreshServersOf([fip.port_id]);
  await syncFloatingIpHosts([fip.port_id], req.requestId);
  return json(204);
}

/** `server show` lists a server's floating addresses: rewrite them for the servers whose ports gained or lost one. */
async function refreshServersOf(portIds: (string | null)[]): Promise<void> {
  for (const id of new Set(portIds.filter((p): p is string => !!p))) {
    const port = await getPort(id);
    if (port?.device_id) await refreshDeviceAddresses(port.device_id);
  }
}

export const floatingIpRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/floatingips', service: 'network', handler: list },
  { method: 'POST', path: '/networking/v2.0/floatingips', service: 'network', handler: create },
  { method: 'GET', path: '/networking/v2.0/floatingips/{floatingip_id}', service: 'network', handler: show },
  { method: 'PUT', path: '/networking/v2.0/floatingips/{floatingip_id}', service: 'network', handler: update },
  { method: 'DELETE', path: '/networking/v2.0/floatingips/{floatingip_id}', service: 'network', handler: remove },
];
