import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { cidrText, netmaskOf, parseCidr } from '../../shared/domain/network/ipv4.js';
import { METADATA_CIDR } from '../metadata/metadata-proxy.js';
import type { HostNetworkState, NetworkState, SubnetState } from './desired-state.js';
import { dhcpNsVethName } from './names.js';

/**
 * What one network's dnsmasq runs with, pure: its command line and its hosts file. Like
 * Neutron's DHCP agent: static ranges only (it answers the ports it is told about and no
 * other MAC), per-subnet options under a tag, DNS off (there is no resolver to forward to).
 */

export const LEASE_SECONDS = 86_400;

export interface DnsmasqFiles {
  dir: string;
  pidFile: string;
  hostsFile: string;
  leaseFile: string;
  logFile: string;
}

/**
 * dnsmasq's files live under /run, not the agent's state dir: dnsmasq drops to `nobody` and
 * re-reads its hosts file as that user, so every directory above it must be searchable by
 * others, which an agent's state dir (0700 under a private /tmp dir in tests) need not be. They
 * are all remade at each apply, so losing them at reboot loses nothing. One subdirectory per
 * agent state dir, so several agents on one machine (a local cloud) never share one.
 */
export const DHCP_RUNTIME_DIR = '/run/novaless/dhcp';

export function dnsmasqFiles(stateDir: string, networkId: string): DnsmasqFiles {
  const dir = join(DHCP_RUNTIME_DIR, createHash('sha256').update(stateDir).digest('hex').slice(0, 12), networkId);
  return { dir, pidFile: join(dir, 'pid'), hostsFile: join(dir, 'hosts'), leaseFile: join(dir, 'leases'), logFile: join(dir, 'dnsmasq.log') };
}

/** The subnets this host serves on a network: DHCP on, and the host's DHCP port has an address in them. */
export function servedSubnets(network: NetworkState): SubnetState[] {
  const dhcpSubnets = new Set(network.dhcp?.fixed_ips.map((f) => f.subnet_id) ?? []);
  return network.subnets.filter((s) => s.enable_dhcp && dhcpSubnets.has(s.id));
}

const tag = (subnet: SubnetState) => `subnet-${subnet.id}`;

export function dnsmasqArgs(network: NetworkState, files: DnsmasqFiles): string[] {
  const args = [
    '--conf-file=/dev/null',
    '--no-hosts',
    '--no-resolv',
    '--port=0',
    '--bind-interfaces',
    `--interface=${dhcpNsVethName(network.id)}`,
    `--pid-file=${files.pidFile}`,
    `--dhcp-hostsfile=${files.hostsFile}`,
    `--dhcp-leasefile=${files.leaseFile}`,
    `--log-facility=${files.logFile}`,
  ];
  for (const subnet of servedSubnets(network)) {
    const cidr = parseCidr(subnet.cidr);
    const t = tag(subnet);
    args.push(`--dhcp-range=set:${t},${cidrText(cidr).split('/')[0]},static,${netmaskOf(cidr)},${LEASE_SECONDS}s`);
    args.push(`--dhcp-option-force=tag:${t},option:mtu,${network.mtu}`);
    // Without a gateway, an empty router option stops dnsmasq offering its own address as the router.
    args.push(`--dhcp-option=tag:${t},option:router${subnet.gateway_ip ? `,${subnet.gateway_ip}` : ''}`);
    if (subnet.dns_nameservers.length) args.push(`--dhcp-option=tag:${t},option:dns-server,${subnet.dns_nameservers.join(',')}`);
    args.push(`--dhcp-option=tag:${t},option:classless-static-route,${classlessRoutes(network, subnet).join(',')}`);
  }
  return args;
}

/**
 * Option 121 of a served subnet, as Neutron's isolated metadata has it: the subnet's host routes,
 * then 169.254.169.254/32 via this host's DHCP port (where the metadata proxy listens), then the
 * default route: a client that gets option 121 ignores the router option (RFC 3442).
 */
export function classlessRoutes(network: NetworkState, subnet: SubnetState): string[] {
  const routes = subnet.host_routes.map((r) => `${r.destination},${r.nexthop}`);
  const dhcpIp = network.dhcp?.fixed_ips.find((f) => f.subnet_id === subnet.id)?.ip_address;
  if (dhcpIp && !subnet.host_routes.some((r) => r.destination === METADATA_CIDR)) routes.push(`${METADATA_CIDR},${dhcpIp}`);
  if (subnet.gateway_ip && !subnet.host_routes.some((r) => r.destination === '0.0.0.0/0')) routes.push(`0.0.0.0/0,${subnet.gateway_ip}`);
  return routes;
}

/** `MAC,IP` per address of this host's ports on the network, in the subnets it serves. */
export function dnsmasqHosts(state: HostNetworkState, network: NetworkState): string {
  const served = new Set(servedSubnets(network).map((s) => s.id));
  const lines = state.ports
    .filter((p) => p.network_id === network.id)
    .flatMap((p) => p.fixed_ips.filter((f) => served.has(f.subnet_id)).map((f) => `${p.mac_address},${f.ip_address}`));
  return lines.map((l) => `${l}\n`).join('');
}

/** The DHCP port's addresses with their prefix lengths, as `ip addr add` takes them. */
export function dhcpAddresses(network: NetworkState): string[] {
  const subnets = new Map(network.subnets.map((s) => [s.id, s]));
  return (network.dhcp?.fixed_ips ?? []).flatMap((f) => {
    const subnet = subnets.get(f.subnet_id);
    return subnet ? [`${f.ip_address}/${parseCidr(subnet.cidr).prefix}`] : [];
  });
}
