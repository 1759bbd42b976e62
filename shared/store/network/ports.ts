import { randomBytes, randomInt } from 'node:crypto';
import { IpAddressAlreadyAllocated, IpAddressGenerationFailure, MacAddressInUse, PortNotFound } from '../../domain/network/errors.js';
import { poolAddresses, toAddress } from '../../domain/network/ipv4.js';
import { MAC_PREFIX, PortSchema, type FixedIp, type Port } from '../../domain/network/port.js';
import type { Subnet } from '../../domain/network/subnet.js';
import { queryAll } from '../table.js';
import { consumeQuota, releaseQuota } from './quota.js';
import {
  deleteResource,
  getResource,
  guardKeys,
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
import { runSteps, type Step } from './transaction.js';

export const getPort = (id: string) => getResource('PORT', id, PortSchema);
export const listPorts = () => listResources('PORT', PortSchema);
export const listNetworkPorts = (networkId: string) => listChildren(parents.networkPorts(networkId), PortSchema);
export const listDevicePorts = (deviceId: string) => listByGsi3(parents.devicePorts(deviceId), PortSchema);

export async function requirePort(id: string): Promise<Port> {
  const port = await getPort(id);
  if (!port) throw new PortNotFound(id);
  return port;
}

/** An address wanted on a port: a given one, or any free one of the subnet. */
export interface AddressRequest {
  subnet: Subnet;
  ip_address?: string;
}

/** A lost race for an address or MAC picked at random: pick again. */
class PickAgain extends Error {}

const ATTEMPTS = 12;
/** Racing creates each pick among this many free addresses, so they rarely pick the same one. */
const SPREAD = 16;

function portIndexes(p: Port): Indexes {
  return {
    gsi1pk: parents.networkPorts(p.network_id),
    gsi1sk: `${p.created_at}#${p.id}`,
    ...(p.device_id ? { gsi3pk: parents.devicePorts(p.device_id), gsi3sk: p.id } : {}),
  };
}

/**
 * Writes a new port with its addresses and MAC, all or nothing: each address and the MAC is a
 * guard item taken with the port in one transaction, so one address never goes to two ports.
 * Addresses not given are picked from the subnet's pools among those not taken; a lost race
 * picks again. A given address or MAC that is taken is the caller's error.
 */
export async function createPort(fields: Omit<Port, 'fixed_ips' | 'mac_address'> & { mac_address?: string }, requests: AddressRequest[]): Promise<Port> {
  const tried = new Map<string, Set<number>>();
  for (let attempt = 1; ; attempt++) {
    const fixedIps = await pickAddresses(requests, tried);
    const port: Port = { ...fields, mac_address: fields.mac_address ?? randomMac(), fixed_ips: fixedIps };
    const steps: Step[] = [
      consumeQuota(port.project_id, 'port'),
      { item: putResource('PORT', port, portIndexes(port)) },
      ...fixedIps.map((ip, k) => ({
        item: takeGuard(guardKeys.ip(ip.subnet_id, ip.ip_address), port.id, { gsi1pk: parents.subnetIps(ip.subnet_id), gsi1sk: ip.ip_address }),
        onConditionFailed: () => (requests[k].ip_address ? new IpAddressAlreadyAllocated(ip.ip_address, ip.subnet_id) : new PickAgain()),
      })),
      {
        item: takeGuard(guardKeys.mac(port.network_id, port.mac_address), port.id),
        onConditionFailed: () => (fields.mac_address ? new MacAddressInUse(port.mac_address, port.network_id) : new PickAgain()),
      },
    ];
    try {
      await runSteps(steps);
      return port;
    } catch (err) {
      if (!(err instanceof PickAgain)) throw err;
      if (attempt >= ATTEMPTS) throw new IpAddressGenerationFailure(port.network_id);
    }
  }
}

async function pickAddresses(requests: AddressRequest[], tried: Map<string, Set<number>>): Promise<FixedIp[]> {
  const picked: FixedIp[] = [];
  for (const { subnet, ip_address } of requests) {
    if (ip_address) {
      picked.push({ subnet_id: subnet.id, ip_address });
      continue;
    }
    const taken = new Set((await usedAddresses(subnet.id)).concat(picked.map((p) => p.ip_address)));
    const skip = tried.get(subnet.id) ?? new Set<number>();
    tried.set(subnet.id, skip);
    const free: number[] = [];
    for (const n of poolAddresses(subnet.allocation_pools)) {
      if (!taken.has(toAddress(n)) && !skip.has(n)) free.push(n);
      if (free.length >= SPREAD) break;
    }
    if (free.length === 0) throw new IpAddressGenerationFailure(subnet.network_id);
    const choice = free[randomInt(free.length)];
    skip.add(choice);
    picked.push({ subnet_id: subnet.id, ip_address: toAddress(choice) });
  }
  return picked;
}

/** Addresses held on a subnet (read strongly enough for a pick: the guard write decides). */
export async function usedAddresses(subnetId: string): Promise<string[]> {
  const items = await queryAll({
    IndexName: 'gsi1',
    KeyConditionExpression: 'gsi1pk = :p',
    ExpressionAttributeValues: { ':p': parents.subnetIps(subnetId) },
  });
  return items.map((i) => String(i.gsi1sk));
}

function randomMac(): string {
  return [MAC_PREFIX, ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** Changes a port from the revision read; moves it in the device index when `device_id` changes. */
export async function updatePort(current: Port, changes: Partial<Omit<Port, 'fixed_ips' | 'network_id' | 'mac_address'>>): Promise<Port> {
  const next: Port = { ...current, ...changes, revision_number: current.revision_number + 1 };
  const deviceChanged = 'device_id' in changes && changes.device_id !== current.device_id;
  const item = updateResource('PORT', current, changes, {
    indexes: deviceChanged && next.device_id ? { gsi3pk: parents.devicePorts(next.device_id), gsi3sk: next.id } : {},
    remove: deviceChanged && !next.device_id ? ['gsi3pk', 'gsi3sk'] : [],
  });
  await runSteps([{ item }]);
  return next;
}

/** Removes a port and frees its addresses, MAC and quota, exactly once (conditional on its revision and on holding them). */
export const deletePort = (port: Port) => runSteps(deletePortSteps(port));

export function deletePortSteps(port: Port): Step[] {
  return [
    { item: deleteResource('PORT', port) },
    ...port.fixed_ips.map((ip) => ({ item: releaseGuard(guardKeys.ip(ip.subnet_id, ip.ip_address), port.id) })),
    { item: releaseGuard(guardKeys.mac(port.network_id, port.mac_address), port.id) },
    releaseQuota(port.project_id, 'port'),
  ];
}
