import { BadRequest, Conflict, Forbidden, NotFound } from '../../../../shared/errors.js';
import type { ApiRequest } from '../../http/types.js';
import { neutronClient, NeutronClientError, onNeutronStatus } from './neutron-client.js';
import { isUuidLike } from './security-group-format.js';

/**
 * The floating IP calls of nova/network/neutron.py, made on this cloud's Network API: a floating IP
 * with the details Nova shows (its network, for the pool name; its port, for the server).
 */

export interface NeutronFloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  fixed_ip_address: string | null;
  port_id: string | null;
  port_details: { device_id: string } | null;
}
interface NeutronNetwork {
  id: string;
  name: string;
}
export interface FloatingIp extends NeutronFloatingIp {
  network: NeutronNetwork;
}

/**
 * The pool used when a create names none: Nova's `[neutron] default_floating_pool`, set here as
 * devstack sets it, to the external network the cloud starts with (functions/bootstrap/default-networks.ts).
 */
export const DEFAULT_FLOATING_POOL = 'public';

/** The floating IP's network; Nova takes a vanished one as its NetworkNotFound (404). */
async function withNetwork(req: ApiRequest, fip: NeutronFloatingIp): Promise<FloatingIp> {
  const { network } = await onNeutronStatus(neutronClient(req).get<{ network: NeutronNetwork }>(`/networks/${fip.floating_network_id}`), {
    404: () => new NotFound(`Network ${fip.floating_network_id} could not be found.`),
  });
  return { ...fip, network };
}

export async function getFloatingIp(req: ApiRequest, id: string): Promise<FloatingIp> {
  const { floatingip } = await onNeutronStatus(neutronClient(req).get<{ floatingip: NeutronFloatingIp }>(`/floatingips/${encodeURIComponent(id)}`), {
    404: () => new NotFound(`Floating IP not found for ID ${id}`),
  });
  return withNetwork(req, floatingip);
}

/** `_get_floating_ip_by_address`: exactly one floating IP has the address (404 none, 409 several). */
export async function floatingIpByAddress(req: ApiRequest, address: string): Promise<NeutronFloatingIp> {
  const notFound = new NotFound(`Floating IP not found for address ${address}.`);
  if (!address) throw notFound;
  const { floatingips } = await neutronClient(req).get<{ floatingips: NeutronFloatingIp[] }>('/floatingips', { floating_ip_address: address });
  if (floatingips.length === 0) throw notFound;
  if (floatingips.length > 1) throw new Conflict(`Multiple floating IPs are found for address ${address}.`);
  return floatingips[0];
}

export async function projectFloatingIps(req: ApiRequest): Promise<FloatingIp[]> {
  const neutron = neutronClient(req);
  const { floatingips } = await neutron.get<{ floatingips: NeutronFloatingIp[] }>('/floatingips', { tenant_id: req.auth.project_id });
  if (floatingips.length === 0) return [];
  const { networks } = await neutron.get<{ networks: NeutronNetwork[] }>('/networks', { id: [...new Set(floatingips.map((f) => f.floating_network_id))] });
  const byId = new Map(networks.map((n) => [n.id, n]));
  return floatingips.map((fip) => {
    const network = byId.get(fip.floating_network_id);
    if (!network) throw new NotFound(`Network ${fip.floating_network_id} could not be found.`);
    return { ...fip, network };
  });
}

/** The external networks: Nova's floating IP pools. */
export async function floatingIpPools(req: ApiRequest): Promise<NeutronNetwork[]> {
  return (await neutronClient(req).get<{ networks: NeutronNetwork[] }>('/networks', { 'router:external': 'True' })).networks;
}

/** `_get_floating_ip_pool_id_by_name_or_id`: one external network of that id (for a uuid) or name. */
async function poolId(req: ApiRequest, nameOrId: string): Promise<string> {
  const query = { 'router:external': 'True', fields: 'id', ...(isUuidLike(nameOrId) ? { id: nameOrId } : { name: nameOrId }) };
  const { networks } = await neutronClient(req).get<{ networks: { id: string }[] }>('/networks', query);
  if (networks.length === 0) throw new NotFound('Floating IP pool not found.');
  if (networks.length > 1) throw new Conflict(`Multiple floating IP pools matches found for name '${nameOrId}'`);
  return networks[0].id;
}

/** `allocate_floating_ip`, with the API's answers for a pool that is full (404) or a project over quota (403). */
export async function allocateFloatingIp(req: ApiRequest, pool: string | null | undefined): Promise<FloatingIp> {
  const networkId = await poolId(req, pool || DEFAULT_FLOATING_POOL);
  try {
    const { floatingip } = await neutronClient(req).post<{ floatingip: NeutronFloatingIp }>('/floatingips', { floatingip: { floating_network_id: networkId } });
    return await withNetwork(req, floatingip);
  } catch (err) {
    if (!(err instanceof NeutronClientError)) throw err;
    if (err.type === 'IpAddressGenerationFailure' || err.type === 'ExternalIpAddressExhausted') {
      throw new NotFound(pool ? `No more floating IPs in pool ${pool}.` : 'No more floating IPs available.');
    }
    if (err.type === 'OverQuota') throw new Forbidden(pool ? `IP allocation over quota in pool ${pool}.` : 'IP allocation over quota.');
    if (err.status === 400) throw new BadRequest(err.message);
    throw err;
  }
}

export async function releaseFloatingIp(req: ApiRequest, fip: NeutronFloatingIp): Promise<void> {
  await onNeutronStatus(neutronClient(req).delete(`/floatingips/${fip.id}`), {
    404: () => new NotFound(`Floating IP not found for address ${fip.floating_ip_address}.`),
  });
}

/** The server a floating IP's port belongs to, if any (`get_instance_id_by_floating_address`). */
export async function instanceIdOfFloatingIp(req: ApiRequest, address: string): Promise<string | null> {
  const fip = await floatingIpByAddress(req, address);
  if (!fip.port_id) return null;
  try {
    const { port } = await neutronClient(req).get<{ port: { device_id: string } }>(`/ports/${fip.port_id}`);
    return port.device_id || null;
  } catch (err) {
    if (err instanceof NeutronClientError && err.status === 404) return null;
    throw err;
  }
}

/** `associate_floating_ip`: onto the server's port that holds the fixed address. */
export async function associateFloatingIp(req: ApiRequest, instanceId: string, floatingAddress: string, fixedAddress: string): Promise<void> {
  const neutron = neutronClient(req);
  const { ports } = await neutron.get<{ ports: { id: string; device_owner: string; fixed_ips: { ip_address: string }[] }[] }>('/ports', { device_id: instanceId });
  const port = ports.find((p) => p.device_owner.startsWith('compute:') && p.fixed_ips.some((ip) => ip.ip_address === fixedAddress));
  if (!port) throw new FixedIpNotFound(`Fixed IP not found for address ${fixedAddress}.`);
  const fip = await floatingIpByAddress(req, floatingAddress);
  await onNeutronStatus(neutron.put(`/floatingips/${fip.id}`, { floatingip: { port_id: port.id, fixed_ip_address: fixedAddress } }), {
    409: (e) => new AssociateFailed(e.message),
  });
}

export async function disassociateFloatingIp(req: ApiRequest, address: string): Promise<void> {
  const fip = await floatingIpByAddress(req, address);
  await neutronClient(req).put(`/floatingips/${fip.id}`, { floatingip: { port_id: null } });
}

/** Nova's FixedIpNotFoundForAddress and FloatingIpAssociateFailed, which addFloatingIp words on its own. */
export class FixedIpNotFound extends NotFound {}
export class AssociateFailed extends BadRequest {}
