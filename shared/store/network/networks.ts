import { randomInt } from 'node:crypto';
import { ConcurrentModification, NetworkNotFound } from '../../domain/network/errors.js';
import { NetworkSchema, VNI_RANGE, type Network } from '../../domain/network/network.js';
import { consumeQuota, releaseQuota } from './quota.js';
import { deleteResource, getResource, guardKeys, listResources, putResource, releaseGuard, takeGuard, updateResource } from './resource-table.js';
import { runSteps, type Step } from './transaction.js';

export const getNetwork = (id: string) => getResource('NETWORK', id, NetworkSchema);
export const listNetworks = () => listResources('NETWORK', NetworkSchema);

export async function requireNetwork(id: string): Promise<Network> {
  const network = await getNetwork(id);
  if (!network) throw new NetworkNotFound(id);
  return network;
}

/**
 * Writes a new network with a VNI of its own (a random free one: a guard item per VNI makes it
 * unique, and a collision just draws again) and counts it against the project's quota.
 */
export async function createNetwork(fields: Omit<Network, 'vni'>): Promise<Network> {
  for (let attempt = 0; ; attempt++) {
    const network: Network = { ...fields, vni: randomInt(VNI_RANGE.first, VNI_RANGE.last + 1) };
    const steps: Step[] = [
      consumeQuota(network.project_id, 'network'),
      { item: putResource('NETWORK', network) },
      { item: takeGuard(guardKeys.vni(network.vni), network.id) },
    ];
    try {
      await runSteps(steps);
      return network;
    } catch (err) {
      // A VNI (or id) collision is a new draw; quota is final.
      if (!(err instanceof ConcurrentModification) || attempt >= 5) throw err;
    }
  }
}

export async function updateNetwork(current: Network, changes: Partial<Network>): Promise<Network> {
  await runSteps([{ item: updateResource('NETWORK', current, changes) }]);
  return { ...current, ...changes, revision_number: current.revision_number + 1 };
}

/** Removes the network item, its VNI and quota; the caller has removed its subnets and ports. */
export async function deleteNetworkItem(network: Network, extraSteps: Step[] = []): Promise<void> {
  await runSteps([
    { item: deleteResource('NETWORK', network) },
    { item: releaseGuard(guardKeys.vni(network.vni), network.id) },
    releaseQuota(network.project_id, 'network'),
    ...extraSteps,
  ]);
}
