import { randomUUID } from 'node:crypto';
import { config } from '../../../shared/config.js';
import type { Instance } from '../../../shared/domain/instance.js';
import { ApiError, BadRequest, Conflict, Forbidden, QuotaExceeded } from '../../../shared/errors.js';
import { isIpv4 } from '../../../shared/domain/network/ipv4.js';
import type { Network } from '../../../shared/domain/network/network.js';
import { DeviceOwner, type Port } from '../../../shared/domain/network/port.js';
import { addressesOfPorts } from '../../../shared/store/network/device-ports.js';
import { getNetwork, listNetworks } from '../../../shared/store/network/networks.js';
import { createPort, deletePort, getPort, updatePort } from '../../../shared/store/network/ports.js';
import { securityGroupIdsForPort } from '../../../shared/store/network/security-groups.js';
import type { TokenContext } from '../identity/token-context.js';
import { networkUsableBy, ownsOrAdmin } from '../network/access.js';
import { addressRequests } from '../network/ports.js';

/** One NIC a new server asks for: a network (with perhaps a fixed IP), or a port the user made. */
export type NicRequest = ({ network: Network; fixed_ip?: string } | { port: Port; network: Network }) & { tag?: string };

type NetworksField = 'auto' | 'none' | { uuid?: string; fixed_ip?: string; port?: string | null; tag?: string }[] | undefined;

/**
 * Nova's validate_networks, in Nova's words and statuses: every network must exist and be
 * usable by the project (external networks are not, 403), every port must be the project's and
 * unbound (409), fixed IPs and ports only with a single server. With no networks asked for,
 * the one network available to the project is used; several are ambiguous (409); 'auto' with
 * none is Nova's 400 (there is no auto-allocated topology to make one). An unknown
 * network or port is a 400 at boot; `notFound` makes it another error (404 for os-interface).
 */
export async function resolveNics(
  caller: TokenContext,
  networks: NetworksField,
  count: number,
  notFound: (message: string) => ApiError = (message) => new BadRequest(message),
): Promise<NicRequest[]> {
  if (networks === 'none') return [];
  if (networks === undefined || networks === 'auto') return defaultNics(caller, networks === 'auto');
  const nics: NicRequest[] = [];
  for (const entry of networks) {
    if (entry.port) {
      if (count > 1) throw new BadRequest('Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.');
      const port = await getPort(entry.port);
      if (!port || !ownsOrAdmin(caller, port)) throw notFound(`Port id ${entry.port} could not be found.`);
      if (port.device_id) throw new Conflict(`Port ${port.id} is still in use.`);
      nics.push({ port, network: (await getNetwork(port.network_id))!, tag: entry.tag });
      continue;
    }
    if (!entry.uuid) throw new BadRequest('Bad networks format: network uuid is not in proper format or missing.');
    const network = await getNetwork(entry.uuid);
    if (!network || !(networkUsableBy(caller, network) || network.router_external)) throw notFound(`Network ${entry.uuid} could not be found.`);
    if (network.router_external && !network.shared && !ownsOrAdmin(caller, network)) {
      throw new Forbidden(`It is not allowed to create an interface on external network ${network.id}`);
    }
    if (entry.fixed_ip !== undefined) {
      if (!isIpv4(entry.fixed_ip)) throw new BadRequest(`Invalid fixed IP address (${entry.fixed_ip})`);
      if (count > 1) throw new BadRequest('max_count cannot be greater than 1 if an fixed_ip is specified.');
    }
    nics.push({ network, fixed_ip: entry.fixed_ip, tag: entry.tag });
  }
  return nics;
}

/** The networks a server of the project may be put on without naming one: its own and shared ones, not external ones. */
export async function availableNetworks(projectId: string): Promise<Network[]> {
  return (await listNetworks()).filter((n) => !n.router_external && (n.project_id === projectId || n.shared));
}

async function defaultNics(caller: TokenContext, auto: boolean): Promise<NicRequest[]> {
  const available = await availableNetworks(caller.project_id);
  if (available.length > 1) throw new Conflict('Multiple possible networks found, use a Network ID to be more specific.');
  if (auto && available.length === 0) throw new BadRequest(`Unable to automatically allocate a network for project ${caller.project_id}`);
  return available.map((network) => ({ network }));
}

/** The security groups a boot asks for (by name or id), as ids; none asked → the project's default group. */
export async function resolveSecurityGroups(projectId: string, requested: { name: string }[] | undefined): Promise<string[]> {
  try {
    return await securityGroupIdsForPort(projectId, requested?.map((g) => g.name));
  } catch (err) {
    throw novaErrorOf(err);
  }
}

/**
 * Makes each new server's ports (Nova's allocate_for_instance): a port per network NIC, owned
 * by the server and deleted with it; a user's port is bound to it. Returns the addresses each
 * server shows. On any failure every port made so far is deleted and bound ports are let go.
 */
export async function allocatePorts(
  instances: Instance[],
  nics: NicRequest[],
  securityGroupIds: string[],
): Promise<{ addresses: Map<string, Instance['addresses']>; deviceTags: Map<string, Instance['device_tags']>; release: () => Promise<void> }> {
  const done: { port: Port; made: boolean }[] = [];
  const addresses = new Map<string, Instance['addresses']>();
  const deviceTags = new Map<string, Instance['device_tags']>();
  try {
    for (const instance of instances) {
      const ports: Port[] = [];
      const tags: Instance['device_tags'] = {};
      for (const nic of nics) {
        const allocated = await allocatePort(instance, nic, securityGroupIds);
        done.push(allocated);
        ports.push(allocated.port);
        if (nic.tag) tags[allocated.port.id] = nic.tag;
      }
      addresses.set(instance.id, await addressesOfPorts(ports));
      deviceTags.set(instance.id, tags);
    }
    return { addresses, deviceTags, release: () => releasePorts(done) };
  } catch (err) {
    await releasePorts(done);
    throw novaErrorOf(err);
  }
}

/**
 * One NIC of a server: a port made for it on the network (deleted with it), or the user's port
 * bound to it. Neutron's errors are raised as they are (see novaErrorOf).
 */
export async function allocatePort(instance: Instance, nic: NicRequest, securityGroupIds: string[]): Promise<{ port: Port; made: boolean }> {
  if ('port' in nic) return { port: await updatePort(nic.port, { device_id: instance.id, device_owner: deviceOwner(instance) }), made: false };
  return { port: await makePort(instance, nic, securityGroupIds), made: true };
}

async function releasePorts(done: { port: Port; made: boolean }[]): Promise<void> {
  for (const { port, made } of done.reverse()) {
    if (made) await deletePort(port).catch(() => undefined);
    else await updatePort(port, { device_id: '', device_owner: '' }).catch(() => undefined);
  }
}

const deviceOwner = (i: Instance) => DeviceOwner.compute(i.availability_zone ?? config().DEFAULT_AVAILABILITY_ZONE);

async function makePort(instance: Instance, nic: { network: Network; fixed_ip?: string }, securityGroupIds: string[]): Promise<Port> {
  const requests = await addressRequests(nic.network, nic.fixed_ip ? [{ ip_address: nic.fixed_ip }] : undefined);
  const portSecurity = nic.network.port_security_enabled;
  const now = new Date().toISOString();
  return createPort(
    {
      id: randomUUID(),
      project_id: instance.project_id,
      name: '',
      description: '',
      revision_number: 1,
      created_at: now,
      updated_at: now,
      network_id: nic.network.id,
      device_id: instance.id,
      device_owner: deviceOwner(instance),
      admin_state_up: true,
      status: 'DOWN',
      binding_host_id: '',
      security_groups: portSecurity ? securityGroupIds : [],
      port_security_enabled: portSecurity,
      allowed_address_pairs: [],
      delete_with_device: true,
    },
    requests,
  );
}

/**
 * Neutron's answers, as Nova's API words them for a boot (nova/api/openstack/compute/servers.py)
 * or, with `attach`, for os-interface (attach_interfaces.py: an address in use is a 409 there).
 */
export function novaErrorOf(err: unknown, attach = false): unknown {
  if (!(err instanceof ApiError)) return err;
  switch (err.name) {
    case 'IpAddressAlreadyAllocated':
      return new (attach ? Conflict : BadRequest)(err.message.replace(/^IP address (\S+) already allocated.*$/, 'Fixed IP address $1 is already in use on instance.'));
    case 'IpAddressGenerationFailure':
      return new BadRequest(`No fixed IP addresses available for network: ${err.message.match(/network (\S+?)\.?$/)?.[1] ?? ''}`);
    case 'InvalidIpForSubnet':
    case 'InvalidInput':
      return new BadRequest(err.message);
    case 'SecurityGroupNotFound':
      return new BadRequest(err.message);
    case 'OverQuota':
      return new QuotaExceeded('Maximum number of ports exceeded');
    default:
      return err;
  }
}
