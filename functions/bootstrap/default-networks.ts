import { cidrText, defaultPools, parseCidr, toAddress, toInt } from '../../shared/domain/network/ipv4.js';
import { EXTERNAL_NETWORK_MTU, TENANT_NETWORK_MTU, type Network } from '../../shared/domain/network/network.js';
import type { Subnet } from '../../shared/domain/network/subnet.js';
import { logger } from '../../shared/logger.js';
import { createNetwork, getNetwork } from '../../shared/store/network/networks.js';
import { createSubnet, getSubnet } from '../../shared/store/network/subnets.js';
import { addDhcpPort } from '../api/network/subnets.js';
import { addSubnetInterface } from '../api/network/router-interfaces.js';
import { makeGateway } from '../api/network/routers.js';
import { listDevicePorts } from '../../shared/store/network/ports.js';
import { createRouter, getRouter, recordNewRouterPort } from '../../shared/store/network/routers.js';

/**
 * The networks a new cloud starts with, as devstack sets them up: `public`, the external network
 * floating IPs come from, and `shared`, a tenant network every project may boot on (so a server
 * created without `--network` gets an address, as before), behind `router1` whose gateway is on
 * `public`. Fixed ids make this idempotent.
 */
export const DEFAULT_NETWORKS = {
  public: {
    networkId: '5c0f4d55-4a4e-4c2e-9a0c-3f1d0e2b7a01',
    subnetId: '5c0f4d55-4a4e-4c2e-9a0c-3f1d0e2b7a02',
    // TEST-NET-3 (RFC 5737): documentation addresses, never routed anywhere real.
    cidr: '203.0.113.0/24',
    pool: { start: '203.0.113.10', end: '203.0.113.250' },
  },
  shared: {
    networkId: 'b6a9a0a2-6c1e-4f36-9a57-5e8c2f6f0c01',
    subnetId: 'c3d2f1e0-7b4a-4c59-8e6d-1a2b3c4d5e02',
    cidr: '10.0.0.0/16',
  },
  routerId: '7e3b2c1d-0a9f-4e8d-b7c6-5a4f3e2d1c03',
} as const;

export async function seedDefaultNetworks(adminProjectId: string): Promise<void> {
  const { public: pub, shared } = DEFAULT_NETWORKS;
  const publicNet = await ensureNetwork({ id: pub.networkId, name: 'public', project_id: adminProjectId, shared: false, router_external: true, mtu: EXTERNAL_NETWORK_MTU });
  await ensureSubnet(publicNet, { id: pub.subnetId, name: 'public-subnet', cidr: pub.cidr, pools: [pub.pool], enable_dhcp: false });
  const sharedNet = await ensureNetwork({ id: shared.networkId, name: 'shared', project_id: adminProjectId, shared: true, router_external: false, mtu: TENANT_NETWORK_MTU });
  const sharedSubnet = await ensureSubnet(sharedNet, { id: shared.subnetId, name: 'shared-subnet', cidr: shared.cidr, enable_dhcp: true });
  await ensureRouter(adminProjectId, publicNet, sharedSubnet);
  logger.info('default networks in place', { public: publicNet.id, shared: sharedNet.id });
}

async function ensureNetwork(fields: Pick<Network, 'id' | 'name' | 'project_id' | 'shared' | 'router_external' | 'mtu'>): Promise<Network> {
  const existing = await getNetwork(fields.id);
  if (existing) return existing;
  const now = new Date().toISOString();
  return createNetwork({ ...fields, description: '', revision_number: 1, created_at: now, updated_at: now, admin_state_up: true, port_security_enabled: true });
}

async function ensureSubnet(network: Network, s: { id: string; name: string; cidr: string; pools?: Subnet['allocation_pools']; enable_dhcp: boolean }): Promise<Subnet> {
  const existing = await getSubnet(s.id);
  if (existing) return existing;
  const cidr = parseCidr(s.cidr);
  const gateway = toAddress(cidr.base + 1);
  const now = new Date().toISOString();
  const subnet = await createSubnet({
    id: s.id,
    project_id: network.project_id,
    name: s.name,
    description: '',
    revision_number: 1,
    created_at: now,
    updated_at: now,
    network_id: network.id,
    ip_version: 4,
    cidr: cidrText(cidr),
    gateway_ip: gateway,
    allocation_pools: s.pools ?? defaultPools(cidr, toInt(gateway)),
    dns_nameservers: [],
    host_routes: [],
    enable_dhcp: s.enable_dhcp,
  });
  if (subnet.enable_dhcp) await addDhcpPort(network, subnet);
  return subnet;
}

/** `router1`: the shared subnet's gateway, with its external gateway on `public` (SNAT for guests without a floating IP). */
async function ensureRouter(adminProjectId: string, publicNet: Network, sharedSubnet: Subnet): Promise<void> {
  const now = new Date().toISOString();
  let router =
    (await getRouter(DEFAULT_NETWORKS.routerId)) ??
    (await createRouter({
      id: DEFAULT_NETWORKS.routerId,
      project_id: adminProjectId,
      name: 'router1',
      description: '',
      revision_number: 1,
      created_at: now,
      updated_at: now,
      admin_state_up: true,
      status: 'ACTIVE',
      external_gateway: null,
    }));
  if (!router.external_gateway) {
    const admin = { project_id: adminProjectId, roles: [{ id: 'admin', name: 'admin' }] };
    const { gateway, port } = await makeGateway(admin, router, { network_id: publicNet.id });
    router = await recordNewRouterPort(router, port, { external_gateway: gateway });
  }
  const interfaces = await listDevicePorts(router.id);
  const onShared = interfaces.some((p) => p.fixed_ips.some((ip) => ip.subnet_id === sharedSubnet.id));
  if (!onShared && sharedSubnet.gateway_ip) await addSubnetInterface(router, { ...sharedSubnet, gateway_ip: sharedSubnet.gateway_ip });
}
