import { createHash } from 'node:crypto';
import type { Host } from '../domain/host.js';
import type { FloatingIp } from '../domain/network/floating-ip.js';
import {
  HostNetworkPlanSchema,
  IP_PROTOCOLS,
  type HostNetworkPlan,
  type HostNetworkPlanInput,
  type NetworkState,
  type PortState,
  type RouterPlan,
  type SecurityGroupRuleState,
  type SecurityGroupState,
} from '../domain/network/host-plan.js';
import { isIpv4, parseCidr } from '../domain/network/ipv4.js';
import type { Network } from '../domain/network/network.js';
import { DeviceOwner, type Port } from '../domain/network/port.js';
import type { Router } from '../domain/network/router.js';
import { normalizedCidr, protocolName, protocolNumber, type SecurityGroupRule } from '../domain/network/security-group.js';
import type { Subnet } from '../domain/network/subnet.js';
import { logger } from '../logger.js';
import { listHosts } from '../store/hosts.js';
import { listFloatingIps } from '../store/network/floating-ips.js';
import { listNetworks } from '../store/network/networks.js';
import { createPort, getPort, listPorts } from '../store/network/ports.js';
import { listRouters } from '../store/network/routers.js';
import { listSecurityGroupRules } from '../store/network/security-groups.js';
import { listSubnets } from '../store/network/subnets.js';

/**
 * Each host's network plan (shared/domain/network/host-plan.ts), computed from the table the way
 * Neutron's ML2 + l2population + DVR compute what each agent must have: the host's own server
 * ports, their networks with the other hosts' ports on them, their security groups with the
 * members of every group their rules name, and the distributed routers behind them.
 *
 * The computation is one read of each resource list (a `NetworkSnapshot`) and then plain code
 * (`buildHostPlan`), so one snapshot serves every host a sync reaches.
 */

/** Neutron's device_owner of a DVR host's own port on an external network (its SNAT source). */

/** Everything a plan is computed from, read once. */
export interface NetworkSnapshot {
  hosts: Host[];
  networks: Network[];
  subnets: Subnet[];
  ports: Port[];
  rules: SecurityGroupRule[];
  routers: Router[];
  floatingIps: FloatingIp[];
}

export async function loadNetworkSnapshot(): Promise<NetworkSnapshot> {
  const [hosts, networks, subnets, ports, rules, routers, floatingIps] = await Promise.all([
    listHosts(),
    listNetworks(),
    listSubnets(),
    listPorts(),
    listSecurityGroupRules(),
    listRouters(),
    listFloatingIps(),
  ]);
  return { hosts, networks, subnets, ports, rules, routers, floatingIps };
}

/** A server's port (Nova's ports carry `compute:<zone>` and the instance as device). */
export const isComputePort = (p: Port) => p.device_owner.startsWith('compute:') && p.device_id !== '';

/** The address other hosts reach this host's VXLAN endpoint on. */
export const tunnelIpOf = (h: Pick<Host, 'host_ip' | 'tunnel_ip'>) => h.tunnel_ip || h.host_ip;

/**
 * The plan of one host, read from the table. Creates the host's agent gateway port on an
 * external network the first time one of its routers needs it (see ensureAgentGatewayPorts).
 */
export async function computeHostPlan(hostName: string, revision = Date.now()): Promise<HostNetworkPlan> {
  const snapshot = await loadNetworkSnapshot();
  await ensureAgentGatewayPorts(snapshot, hostName);
  return buildHostPlan(snapshot, hostName, revision);
}

// --- the plan from a snapshot (no I/O) --------------------------------------------------------

/** The plan of `hostName` from a snapshot. Pure: a missing agent gateway port leaves that router without a gateway. */
export function buildHostPlan(s: NetworkSnapshot, hostName: string, revision: number): HostNetworkPlan {
  const localPorts = byCreation(s.ports.filter((p) => isComputePort(p) && p.binding_host_id === hostName));
  const localNetworkIds = new Set(localPorts.map((p) => p.network_id));
  const routers = routerPlans(s, hostName, localNetworkIds, new Set(localPorts.map((p) => p.id)));
  // The networks of its routers' other interfaces too: the host routes into them (DVR).
  const routedNetworkIds = new Set(routers.flatMap((r) => r.interfaces.map((i) => i.network_id)));
  const networks = s.networks.filter((n) => localNetworkIds.has(n.id) || routedNetworkIds.has(n.id));
  const ports = localPorts.map(portState);
  return HostNetworkPlanSchema.parse({
    revision,
    networks: networks.map((n) => networkState(s, n, hostName, localNetworkIds.has(n.id))),
    ports,
    security_groups: securityGroupStates(s, ports),
    routers,
    devices: localPorts.map((p) => ({ port_id: p.id, instance_id: p.device_id })),
    dvr_mac: dvrMacOf(hostName),
  } satisfies HostNetworkPlanInput);
}

/**
 * A host's DVR MAC, derived from its name in Neutron's DVR range (`fa:16:3f:…`). 24 bits of a
 * hash: two hosts of a few hundred share one with a chance below 1 in 300; Neutron allocates
 * them in its database instead.
 */
export function dvrMacOf(hostName: string): string {
  const h = createHash('sha256').update(`novaless:dvr-mac:${hostName}`).digest();
  return `fa:16:3f:${[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

const byCreation = <T extends { created_at: string; id: string }>(items: T[]) =>
  [...items].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));

const isIpv4OrCidr = (text: string) => {
  const [address, length, ...rest] = text.split('/');
  return rest.length === 0 && isIpv4(address) && (length === undefined || (/^\d{1,2}$/.test(length) && Number(length) <= 32));
};

function portState(p: Port): PortState {
  return {
    id: p.id,
    network_id: p.network_id,
    mac_address: p.mac_address.toLowerCase(),
    fixed_ips: p.fixed_ips.map((ip) => ({ subnet_id: ip.subnet_id, ip_address: ip.ip_address })),
    port_security_enabled: p.port_security_enabled,
    allowed_address_pairs: p.port_security_enabled
      ? p.allowed_address_pairs.filter((a) => isIpv4OrCidr(a.ip_address)).map((a) => ({ ip_address: a.ip_address, mac_address: a.mac_address.toLowerCase() }))
      : [],
    security_group_ids: p.port_security_enabled ? [...new Set(p.security_groups)] : [],
  };
}

/** A network as the host wires it; `withDhcp` false for a network it only routes into (no guest of its own there to serve). */
function networkState(s: NetworkSnapshot, n: Network, hostName: string, withDhcp: boolean): NetworkState {
  const hostsByName = new Map(s.hosts.map((h) => [h.host, h]));
  const onNetwork = s.ports.filter((p) => p.network_id === n.id);
  const remote = byCreation(onNetwork.filter((p) => isComputePort(p) && p.binding_host_id && p.binding_host_id !== hostName && hostsByName.has(p.binding_host_id)));
  const dhcpPorts = byCreation(onNetwork.filter((p) => p.device_owner === DeviceOwner.dhcp && p.fixed_ips.length > 0));
  const subnets = byCreation(s.subnets.filter((sub) => sub.network_id === n.id));
  return {
    id: n.id,
    vni: n.vni,
    mtu: n.mtu,
    subnets: subnets.map((sub) => ({
      id: sub.id,
      cidr: sub.cidr,
      gateway_ip: sub.gateway_ip,
      enable_dhcp: sub.enable_dhcp,
      dns_nameservers: sub.dns_nameservers.filter(isIpv4),
      host_routes: sub.host_routes.map((r) => ({ destination: r.destination, nexthop: r.nexthop })),
    })),
    dhcp: withDhcp && dhcpPorts.length
      ? { mac_address: dhcpPorts[0].mac_address.toLowerCase(), fixed_ips: dhcpPorts.flatMap((p) => p.fixed_ips.map((ip) => ({ subnet_id: ip.subnet_id, ip_address: ip.ip_address }))) }
      : null,
    flood: [...new Set(remote.map((p) => tunnelIpOf(hostsByName.get(p.binding_host_id)!)))].sort(),
    remote_ports: remote.flatMap((p) =>
      p.fixed_ips.map((ip) => ({ mac_address: p.mac_address.toLowerCase(), ip_address: ip.ip_address, vtep: tunnelIpOf(hostsByName.get(p.binding_host_id)!) })),
    ),
  };
}

/** A stored rule in the plan's words; undefined for what the data plane does not do (IPv6). */
export function ruleState(r: SecurityGroupRule): SecurityGroupRuleState | undefined {
  if (r.ethertype !== 'IPv4') return undefined;
  const name = protocolName(r.protocol);
  const protocol = name === null ? null : name in IP_PROTOCOLS ? (name as keyof typeof IP_PROTOCOLS) : String(protocolNumber(r.protocol));
  return {
    id: r.id,
    direction: r.direction,
    ethertype: 'IPv4',
    protocol,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: normalizedCidr(r.remote_ip_prefix),
    remote_group_id: r.remote_group_id,
  };
}

/**
 * The groups of the host's ports with their (IPv4) rules, and every group those rules name as
 * remote group (rules of its own only if a local port uses it too). Members are the fixed IPs
 * and allowed address pairs of every port in the group, cloud-wide (Neutron's ipset members).
 */
function securityGroupStates(s: NetworkSnapshot, ports: PortState[]): SecurityGroupState[] {
  const local = [...new Set(ports.flatMap((p) => p.security_group_ids))];
  const rulesOf = (groupId: string) => byCreation(s.rules.filter((r) => r.security_group_id === groupId)).flatMap((r) => ruleState(r) ?? []);
  const localRules = new Map(local.map((id) => [id, rulesOf(id)]));
  const referenced = [...localRules.values()].flat().flatMap((r) => (r.remote_group_id && !localRules.has(r.remote_group_id) ? [r.remote_group_id] : []));
  const groups = [...local, ...new Set(referenced)];
  return groups.map((id) => ({ id, rules: localRules.get(id) ?? [], member_ips: memberIps(s, id) }));
}

function memberIps(s: NetworkSnapshot, groupId: string): string[] {
  const members = s.ports.filter((p) => p.port_security_enabled && p.security_groups.includes(groupId));
  const ips = members.flatMap((p) => [...p.fixed_ips.map((ip) => ip.ip_address), ...p.allowed_address_pairs.map((a) => a.ip_address)]);
  return [...new Set(ips.filter(isIpv4OrCidr))].sort();
}

/** The routers with an interface on a network of the host's ports, each with all its interfaces. */
function routerPlans(s: NetworkSnapshot, hostName: string, localNetworkIds: Set<string>, localPortIds: Set<string>): RouterPlan[] {
  const subnets = new Map(s.subnets.map((sub) => [sub.id, sub]));
  const allInterfaces = byCreation(s.ports.filter((p) => p.device_owner === DeviceOwner.routerInterface));
  const routerIds = new Set(allInterfaces.filter((p) => localNetworkIds.has(p.network_id)).map((p) => p.device_id));
  const interfaces = allInterfaces.filter((p) => routerIds.has(p.device_id));
  return byCreation(s.routers.filter((r) => routerIds.has(r.id))).map((router) => ({
    id: router.id,
    interfaces: interfaces
      .filter((p) => p.device_id === router.id)
      .flatMap((p) =>
        p.fixed_ips.flatMap((ip) => {
          const subnet = subnets.get(ip.subnet_id);
          if (!subnet) return [];
          return [{ port_id: p.id, network_id: p.network_id, subnet_id: ip.subnet_id, mac_address: p.mac_address, ip_address: ip.ip_address, prefix_length: parseCidr(subnet.cidr).prefix }];
        }),
      ),
    gateway: routerGateway(s, router, hostName, subnets),
    floating_ips: byCreation(s.floatingIps.filter((f) => f.router_id === router.id && f.port_id && localPortIds.has(f.port_id) && f.fixed_ip_address)).map((f) => ({
      floating_ip_address: f.floating_ip_address,
      fixed_ip_address: f.fixed_ip_address!,
      port_id: f.port_id!,
    })),
  }));
}

function routerGateway(s: NetworkSnapshot, router: Router, hostName: string, subnets: Map<string, Subnet>): RouterPlan['gateway'] {
  const gw = router.external_gateway;
  if (!gw) return null;
  const port = s.ports.find((p) => p.id === agentGatewayPortId(hostName, gw.network_id)) ?? s.ports.find((p) => isAgentGatewayPort(p, hostName, gw.network_id));
  const address = port?.fixed_ips[0];
  const subnet = address && subnets.get(address.subnet_id);
  if (!port || !address || !subnet) return null;
  return {
    network_id: gw.network_id,
    host_address: address.ip_address,
    host_mac_address: port.mac_address,
    prefix_length: parseCidr(subnet.cidr).prefix,
    gateway_ip: subnet.gateway_ip,
    enable_snat: gw.enable_snat,
  };
}

// --- the host's own ports on external networks ------------------------------------------------

const isAgentGatewayPort = (p: Port, hostName: string, networkId: string) =>
  p.device_owner === DeviceOwner.agentGateway && p.device_id === hostName && p.network_id === networkId;

/**
 * The id of a host's agent gateway port on a network: a name-based UUID (version 5 layout) of
 * host and network, so racing computes for one host write the same port and only one write wins.
 */
export function agentGatewayPortId(hostName: string, networkId: string): string {
  const hash = createHash('sha1').update(`novaless:agent-gateway:${hostName}:${networkId}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The external networks where the host's routers (those behind its ports) need a gateway port of the host. */
export function agentGatewaysNeeded(s: NetworkSnapshot, hostName: string): string[] {
  const localNetworkIds = new Set(s.ports.filter((p) => isComputePort(p) && p.binding_host_id === hostName).map((p) => p.network_id));
  const routerIds = new Set(s.ports.filter((p) => p.device_owner === DeviceOwner.routerInterface && localNetworkIds.has(p.network_id)).map((p) => p.device_id));
  const wanted = s.routers.filter((r) => routerIds.has(r.id) && r.external_gateway).map((r) => r.external_gateway!.network_id);
  return [...new Set(wanted)].filter((networkId) => !s.ports.some((p) => isAgentGatewayPort(p, hostName, networkId)));
}

/**
 * Makes the host's agent gateway ports its routers need and adds them to the snapshot (Neutron
 * DVR's create_fip_agent_gw_port_if_not_exists). Race-safe: the port id is derived from host and
 * network, so of two racing creates one writes and the other reads the winner's. A port that
 * cannot be made (no free address) is logged and leaves the router without a gateway here.
 */
export async function ensureAgentGatewayPorts(s: NetworkSnapshot, hostName: string): Promise<void> {
  for (const networkId of agentGatewaysNeeded(s, hostName)) {
    try {
      s.ports.push(await ensureAgentGatewayPort(s, hostName, networkId));
    } catch (error) {
      logger.error('could not make the host its gateway port on an external network', { host: hostName, network_id: networkId, error: error as Error });
    }
  }
}

async function ensureAgentGatewayPort(s: NetworkSnapshot, hostName: string, networkId: string): Promise<Port> {
  const id = agentGatewayPortId(hostName, networkId);
  const existing = await getPort(id);
  if (existing) return existing;
  const subnet = byCreation(s.subnets.filter((sub) => sub.network_id === networkId))[0];
  if (!subnet) throw new Error(`external network ${networkId} has no subnet`);
  const now = new Date().toISOString();
  try {
    return await createPort(
      {
        id,
        project_id: '',
        name: '',
        description: '',
        revision_number: 1,
        created_at: now,
        updated_at: now,
        network_id: networkId,
        device_id: hostName,
        device_owner: DeviceOwner.agentGateway,
        admin_state_up: true,
        status: 'ACTIVE',
        binding_host_id: hostName,
        security_groups: [],
        port_security_enabled: false,
        allowed_address_pairs: [],
        delete_with_device: false,
      },
      [{ subnet }],
    );
  } catch (error) {
    // A racing compute wrote it first: use theirs.
    const winner = await getPort(id);
    if (winner) return winner;
    throw error;
  }
}
