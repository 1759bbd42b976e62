import {
  ConcurrentModification,
  FloatingIPPortAlreadyAssociated,
  FloatingIPNotFound,
  InvalidInput,
  InvalidIpForNetwork,
  InvalidIpForSubnet,
  IpAddressAlreadyAllocated,
  IpAddressGenerationFailure,
} from '../../domain/network/errors.js';
import { FloatingIpSchema, type FloatingIp, type FloatingIpAssociation } from '../../domain/network/floating-ip.js';
import { contains, parseCidr, toInt, usableRange } from '../../domain/network/ipv4.js';
import type { Network } from '../../domain/network/network.js';
import type { Port } from '../../domain/network/port.js';
import { createPort, deletePort, deletePortSteps } from './ports.js';
import { consumeQuota, releaseQuota } from './quota.js';
import {
  deleteResource,
  getResource,
  listByGsi3,
  listChildren,
  listResources,
  parents,
  putResource,
  releaseGuard,
  takeGuard,
  updateResource,
  type Indexes,
} from './resource-table.js';
import { listNetworkSubnets } from './subnets.js';
import { runSteps, type Step } from './transaction.js';

/**
 * Floating IPs: items `FLOATINGIP#<id>` (gsi1 under their external network, gsi3 under the
 * internal port while associated), their address held by a `network:floatingip` port.
 *
 * One guard item per association, `FIPASSOC#<port>#<fixed ip>#<external network>` held by the
 * floating IP, makes "one floating IP per fixed IP and external network" hold under races too.
 * An association also bumps the internal port's revision in the same transaction, so a port
 * deleted meanwhile (or deleted from a read that predates the association) fails its condition
 * instead of leaving a floating IP pointing at a port that is gone.
 */
export const getFloatingIp = (id: string) => getResource('FLOATINGIP', id, FloatingIpSchema);
export const listFloatingIps = () => listResources('FLOATINGIP', FloatingIpSchema);
export const listNetworkFloatingIps = (networkId: string) => listChildren(parents.networkFloatingIps(networkId), FloatingIpSchema);
/** The floating IPs associated with a port (for Nova's network info, and before the port is deleted). */
export const listPortFloatingIps = (portId: string) => listByGsi3(parents.portFloatingIps(portId), FloatingIpSchema);

export async function requireFloatingIp(id: string): Promise<FloatingIp> {
  const fip = await getFloatingIp(id);
  if (!fip) throw new FloatingIPNotFound(id);
  return fip;
}

const associationKey = (portId: string, fixedIp: string, networkId: string) => ({ pk: `FIPASSOC#${portId}#${fixedIp}#${networkId}`, sk: 'FIPASSOC' });

function fipIndexes(f: FloatingIp): Indexes {
  return {
    gsi1pk: parents.networkFloatingIps(f.floating_network_id),
    gsi1sk: `${f.created_at}#${f.id}`,
    ...(f.port_id ? { gsi3pk: parents.portFloatingIps(f.port_id), gsi3sk: f.id } : {}),
  };
}

/** The writes that tie a floating IP to an internal port (see the file comment). */
function associateSteps(fip: FloatingIp, internalPort: Port, fixedIp: string): Step[] {
  return [
    {
      item: takeGuard(associationKey(internalPort.id, fixedIp, fip.floating_network_id), fip.id),
      onConditionFailed: () =>
        new FloatingIPPortAlreadyAssociated({
          floatingIpAddress: fip.floating_ip_address,
          floatingIpId: fip.id,
          portId: internalPort.id,
          fixedIp,
          networkId: fip.floating_network_id,
        }),
    },
    { item: updateResource('PORT', internalPort, {}) },
  ];
}

const releaseAssociationSteps = (fip: FloatingIp): Step[] =>
  fip.port_id && fip.fixed_ip_address
    ? [{ item: releaseGuard(associationKey(fip.port_id, fip.fixed_ip_address, fip.floating_network_id), fip.id) }]
    : [];

/** An address wanted on an external network: any free one, or of a given subnet, or a given address. */
export interface ExternalAddressWish {
  subnet_id?: string;
  ip_address?: string;
}

/**
 * Makes a port on an external network (a floating IP's or a router gateway's) with one address of
 * its subnets: the one asked for (checked to lie in a subnet and not be its gateway), or a free one
 * of the first subnet that has any. Address uniqueness is createPort's guard items.
 */
export async function createExternalPort(
  network: Network,
  fields: Omit<Port, 'fixed_ips' | 'mac_address' | 'network_id'>,
  wish: ExternalAddressWish = {},
): Promise<Port> {
  const subnets = await listNetworkSubnets(network.id);
  const chosen = wish.subnet_id ? subnets.filter((s) => s.id === wish.subnet_id) : subnets;
  if (wish.subnet_id && chosen.length === 0) {
    throw new InvalidInput(`Failed to create port on network ${network.id}, because fixed_ips included invalid subnet ${wish.subnet_id}`);
  }
  const portFields = { ...fields, network_id: network.id };
  if (wish.ip_address) {
    const n = toInt(wish.ip_address);
    const subnet = chosen.find((s) => contains(parseCidr(s.cidr), n));
    if (!subnet) throw wish.subnet_id ? new InvalidIpForSubnet(wish.ip_address) : new InvalidIpForNetwork(wish.ip_address);
    const { first, last } = usableRange(parseCidr(subnet.cidr));
    if (n < first || n > last) throw new InvalidIpForSubnet(wish.ip_address);
    if (subnet.gateway_ip === wish.ip_address) throw new IpAddressAlreadyAllocated(wish.ip_address, subnet.id);
    return createPort(portFields, [{ subnet, ip_address: wish.ip_address }]);
  }
  for (const subnet of chosen) {
    try {
      return await createPort(portFields, [{ subnet }]);
    } catch (err) {
      if (!(err instanceof IpAddressGenerationFailure)) throw err;
    }
  }
  throw new IpAddressGenerationFailure(network.id);
}

/**
 * Writes a new floating IP whose address `port` already holds, counted against the project's
 * quota, associated at once when `association` is given. If that write fails (quota, a race on
 * the association), the address port is deleted again: a refused create leaves nothing.
 */
export async function createFloatingIp(fip: FloatingIp, port: Port, association?: { internalPort: Port }): Promise<FloatingIp> {
  const steps: Step[] = [
    consumeQuota(fip.project_id, 'floatingip'),
    { item: putResource('FLOATINGIP', fip, fipIndexes(fip)) },
    ...(association && fip.fixed_ip_address ? associateSteps(fip, association.internalPort, fip.fixed_ip_address) : []),
  ];
  try {
    await runSteps(steps);
    return fip;
  } catch (err) {
    await deletePort(port);
    throw err;
  }
}

/**
 * Moves a floating IP to a new association (or none: `association` all null), from the revision
 * read, with `changes` (description). Status follows the association.
 */
export async function updateFloatingIp(
  current: FloatingIp,
  association: FloatingIpAssociation,
  internalPort: Port | null,
  changes: Partial<Pick<FloatingIp, 'description'>> = {},
): Promise<FloatingIp> {
  const next: FloatingIp = {
    ...current,
    ...changes,
    ...association,
    status: association.port_id ? 'ACTIVE' : 'DOWN',
    revision_number: current.revision_number + 1,
    updated_at: new Date().toISOString(),
  };
  const moved = current.port_id !== next.port_id || current.fixed_ip_address !== next.fixed_ip_address;
  const steps: Step[] = [
    {
      item: updateResource('FLOATINGIP', current, { ...changes, ...association, status: next.status }, {
        indexes: next.port_id ? { gsi3pk: parents.portFloatingIps(next.port_id), gsi3sk: next.id } : {},
        remove: next.port_id ? [] : ['gsi3pk', 'gsi3sk'],
      }),
    },
    ...(moved ? releaseAssociationSteps(current) : []),
    ...(moved && internalPort && next.fixed_ip_address ? associateSteps(next, internalPort, next.fixed_ip_address) : []),
  ];
  await runSteps(steps);
  return next;
}

/** Removes a floating IP, its address port and its quota in one transaction: the address is freed exactly once. */
export async function deleteFloatingIp(fip: FloatingIp, addressPort: Port | undefined): Promise<void> {
  await runSteps([
    { item: deleteResource('FLOATINGIP', fip) },
    releaseQuota(fip.project_id, 'floatingip'),
    ...releaseAssociationSteps(fip),
    ...(addressPort ? deletePortSteps(addressPort) : []),
  ]);
}

/** The association of a floating IP that is not associated. */
export const NO_ASSOCIATION: FloatingIpAssociation = { port_id: null, fixed_ip_address: null, router_id: null };

/**
 * Disassociates every floating IP of a port (call before deleting the port, as Neutron does).
 * A floating IP changed meanwhile is read again; one disassociated meanwhile is left alone.
 */
export async function disassociatePortFloatingIps(portId: string): Promise<void> {
  for (const listed of await listPortFloatingIps(portId)) {
    for (let attempt = 1; ; attempt++) {
      const fip = await getFloatingIp(listed.id);
      if (!fip || fip.port_id !== portId) break;
      try {
        await updateFloatingIp(fip, NO_ASSOCIATION, null);
        break;
      } catch (err) {
        if (!(err instanceof ConcurrentModification) || attempt >= 5) throw err;
      }
    }
  }
}

/** The same as steps, to go in the transaction that deletes the port (from the floating IPs read now). */
export async function disassociatePortFloatingIpsSteps(portId: string): Promise<Step[]> {
  const fips = await listPortFloatingIps(portId);
  return fips.flatMap((fip) => [
    {
      item: updateResource('FLOATINGIP', fip, { ...NO_ASSOCIATION, status: 'DOWN' }, { remove: ['gsi3pk', 'gsi3sk'] }),
    },
    ...releaseAssociationSteps(fip),
  ]);
}
