import { SubnetNotFound } from '../../domain/network/errors.js';
import { SubnetSchema, type Subnet } from '../../domain/network/subnet.js';
import { consumeQuota, releaseQuota } from './quota.js';
import { deleteResource, getResource, listChildren, listResources, parents, putResource, updateResource } from './resource-table.js';
import { runSteps, type Step } from './transaction.js';

export const getSubnet = (id: string) => getResource('SUBNET', id, SubnetSchema);
export const listSubnets = () => listResources('SUBNET', SubnetSchema);
export const listNetworkSubnets = (networkId: string) => listChildren(parents.networkSubnets(networkId), SubnetSchema);

export async function requireSubnet(id: string): Promise<Subnet> {
  const subnet = await getSubnet(id);
  if (!subnet) throw new SubnetNotFound(id);
  return subnet;
}

const subnetIndexes = (s: Subnet) => ({ gsi1pk: parents.networkSubnets(s.network_id), gsi1sk: `${s.created_at}#${s.id}` });

export async function createSubnet(subnet: Subnet): Promise<Subnet> {
  await runSteps([consumeQuota(subnet.project_id, 'subnet'), { item: putResource('SUBNET', subnet, subnetIndexes(subnet)) }]);
  return subnet;
}

export async function updateSubnet(current: Subnet, changes: Partial<Subnet>): Promise<Subnet> {
  await runSteps([{ item: updateResource('SUBNET', current, changes) }]);
  return { ...current, ...changes, revision_number: current.revision_number + 1 };
}

export const deleteSubnet = (subnet: Subnet) => runSteps(deleteSubnetSteps(subnet));

export const deleteSubnetSteps = (subnet: Subnet): Step[] => [{ item: deleteResource('SUBNET', subnet) }, releaseQuota(subnet.project_id, 'subnet')];
