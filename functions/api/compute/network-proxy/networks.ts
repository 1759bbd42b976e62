import { NotFound } from '../../../../shared/errors.js';
import { json } from '../../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../../http/types.js';
import { isAdmin } from '../../identity/token-context.js';
import { neutronClient, onNeutronStatus } from './neutron-client.js';
import { proxyOnly } from './proxy-version.js';

/**
 * `/os-networks` and `/os-tenant-networks` reads (2.1-2.35, networks.py, tenant_networks.py): the
 * networks Neutron shows the caller, in what is left of nova-network's shape (only id and label
 * are filled; admins see more null fields). Their writes are nova-network's: 410 (gone.ts).
 */

interface NeutronNetwork {
  id: string;
  name: string;
}

const FIELDS = ['id', 'cidr', 'netmask', 'gateway', 'broadcast', 'dns1', 'dns2', 'cidr_v6', 'gateway_v6', 'label', 'netmask_v6'];
const ADMIN_FIELDS = [
  'created_at', 'updated_at', 'deleted_at', 'deleted', 'injected', 'bridge', 'vlan', 'vpn_public_address', 'vpn_public_port',
  'vpn_private_address', 'dhcp_start', 'project_id', 'host', 'bridge_interface', 'multi_host', 'priority', 'rxtx_base', 'mtu',
  'dhcp_server', 'enable_dhcp', 'share_address',
];

function networkView(req: ApiRequest, network: NeutronNetwork) {
  const fields = isAdmin(req.auth) ? [...FIELDS, ...ADMIN_FIELDS] : FIELDS;
  return Object.fromEntries(fields.map((f) => [f, f === 'id' ? network.id : f === 'label' ? network.name : null]));
}

/** The tenant-networks view: `cidr` is the string "None", as Nova with Neutron has always answered. */
const tenantNetworkView = (network: NeutronNetwork) => ({ id: network.id, cidr: 'None', label: network.name });

const allNetworks = async (req: ApiRequest) => (await neutronClient(req).get<{ networks: NeutronNetwork[] }>('/networks')).networks;

async function oneNetwork(req: ApiRequest): Promise<NeutronNetwork> {
  const { network } = await onNeutronStatus(neutronClient(req).get<{ network: NeutronNetwork }>(`/networks/${encodeURIComponent(req.params.id)}`), {
    404: () => new NotFound('Network not found'),
  });
  return network;
}

const listNetworks = async (req: ApiRequest): Promise<ApiResponse> => json(200, { networks: (await allNetworks(req)).map((n) => networkView(req, n)) });
const showNetwork = async (req: ApiRequest): Promise<ApiResponse> => json(200, { network: networkView(req, await oneNetwork(req)) });
const listTenantNetworks = async (req: ApiRequest): Promise<ApiResponse> => json(200, { networks: (await allNetworks(req)).map(tenantNetworkView) });
const showTenantNetwork = async (req: ApiRequest): Promise<ApiResponse> => json(200, { network: tenantNetworkView(await oneNetwork(req)) });

export const networkProxyRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-networks', service: 'compute', handler: proxyOnly(listNetworks) },
  { method: 'GET', path: '/compute/v2.1/os-networks/{id}', service: 'compute', handler: proxyOnly(showNetwork) },
  { method: 'GET', path: '/compute/v2.1/os-tenant-networks', service: 'compute', handler: proxyOnly(listTenantNetworks) },
  { method: 'GET', path: '/compute/v2.1/os-tenant-networks/{id}', service: 'compute', handler: proxyOnly(showTenantNetwork) },
];
