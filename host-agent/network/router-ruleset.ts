import { cidrText, parseCidr, toAddress, toInt } from '../../shared/domain/network/ipv4.js';
import type { HostNetworkState, RouterPlan } from './desired-state.js';
import { dhcpNetworks } from './dhcp.js';
import { localNetworks } from './l2.js';
import { routerGatewayName, routerInterfacePeerName, ROUTER_ISOLATION_TABLE, ROUTER_NAT_TABLE, vxlanName } from './names.js';

/**
 * The nft scripts of distributed routers, pure. Like nft-ruleset.ts, each table is declared,
 * deleted and declared again in one `nft -f` transaction, so the kernel swaps it whole.
 *
 * - `bridge novaless_dvr`, in the host's namespace: every host holds a copy of the router with
 *   the same gateway MAC and address on each network (and of the network's DHCP port). Frames from or to that MAC and ARP for
 *   that address never cross a network's VXLAN device, either way, so each host's guests
 *   resolve and use their own host's copy, and no bridge learns the MAC on a tunnel. IPv4 a
 *   router copy sends to another host leaves with the host's DVR MAC instead (Neutron's DVR
 *   does the same rewrite); the router never ARPs across (routers.ts gives it the remote
 *   ports' neighbour entries).
 * - `ip novaless_nat`, in each router's namespace: floating IPs (DNAT in, SNAT out, ahead of
 *   the masquerade) and SNAT of the interface subnets to the host's external address; plus a
 *   filter that stops connections NATed for a floating IP that is no longer here, whose
 *   conntrack entries would otherwise keep them going.
 */

const quote = (name: string) => `"${name}"`;
const set = (items: readonly string[]) => (items.length === 1 ? items[0] : `{ ${items.join(', ')} }`);

function table(family: string, name: string, body: string[]): string {
  return [`table ${family} ${name}`, `delete table ${family} ${name}`, `table ${family} ${name} {`, ...body, '}', ''].join('\n');
}

function chain(name: string, lines: string[]): string[] {
  return [`  chain ${name} {`, ...lines.map((l) => `    ${l}`), '  }'];
}

/** The script that removes a table (declaring it first, so it works when it is absent). */
export const renderTableRemoval = (t: { family: string; name: string }): string => `table ${t.family} ${t.name}\ndelete table ${t.family} ${t.name}\n`;

/** The router interfaces this host wires: those on networks it has ports on, with the network's VNI. */
export function localRouterInterfaces(state: HostNetworkState): { router: RouterPlan; iface: RouterPlan['interfaces'][number]; vni: number; mtu: number }[] {
  const networks = new Map(localNetworks(state).map((n) => [n.id, n]));
  return state.routers.flatMap((router) =>
    router.interfaces.flatMap((iface) => {
      const network = networks.get(iface.network_id);
      return network ? [{ router, iface, vni: network.vni, mtu: network.mtu }] : [];
    }),
  );
}

/**
 * The host's isolation table: the addresses every host holds a copy of (router interfaces, and
 * the DHCP port each host's DHCP server answers on) stay on their own host. '' when the host has
 * none (the table should then be absent).
 */
export function renderRouterIsolation(state: HostNetworkState): string {
  const endpoints = [
    ...localRouterInterfaces(state).map(({ iface, vni }) => ({ vni, mac: iface.mac_address, ips: [iface.ip_address] })),
    ...dhcpNetworks(state).map((n) => ({ vni: n.vni, mac: n.dhcp!.mac_address, ips: n.dhcp!.fixed_ips.map((f) => f.ip_address) })),
  ];
  if (!endpoints.length) return '';
  const lines = ['type filter hook forward priority filter; policy accept;'];
  // Routed IPv4 leaving for another host takes this host's DVR MAC first, so the drops below spare it.
  if (state.dvr_mac) {
    for (const { iface, vni } of localRouterInterfaces(state)) {
      lines.push(`iifname ${quote(routerInterfacePeerName(iface.port_id))} oifname ${quote(vxlanName(vni))} ether type ip ether saddr ${iface.mac_address} ether saddr set ${state.dvr_mac}`);
    }
  }
  const seen = new Set<string>();
  for (const { vni, mac, ips } of endpoints) {
    const vx = quote(vxlanName(vni));
    for (const dir of ['oifname', 'iifname']) {
      for (const rule of [`ether saddr ${mac}`, `ether daddr ${mac}`, ...ips.flatMap((ip) => [`arp daddr ip ${ip}`, `arp saddr ip ${ip}`])]) {
        const line = `${dir} ${vx} ${rule} drop`;
        if (!seen.has(line)) lines.push(line);
        seen.add(line);
      }
    }
  }
  return table(ROUTER_ISOLATION_TABLE.family, ROUTER_ISOLATION_TABLE.name, chain('forward', lines));
}

/** The subnet of an interface address (`10.0.0.1`, 24 → `10.0.0.0/24`). */
export function subnetOf(address: string, prefixLength: number): string {
  const size = 2 ** (32 - prefixLength);
  const n = toInt(address);
  return cidrText(parseCidr(`${toAddress(n - (n % size))}/${prefixLength}`));
}

/** A router's NAT table; '' when it has no gateway here (the table should then be absent). */
export function renderRouterNat(router: RouterPlan): string {
  const gateway = router.gateway;
  if (!gateway) return '';
  const qg = quote(routerGatewayName(router.id));
  const fips = router.floating_ips;
  const prerouting = ['type nat hook prerouting priority dstnat; policy accept;', ...fips.map((f) => `ip daddr ${f.floating_ip_address} dnat to ${f.fixed_ip_address}`)];
  // Traffic of the router namespace itself (a probe from it, say) to a floating IP.
  const output = ['type nat hook output priority -100; policy accept;', ...fips.map((f) => `ip daddr ${f.floating_ip_address} dnat to ${f.fixed_ip_address}`)];
  const postrouting = ['type nat hook postrouting priority srcnat; policy accept;', ...fips.map((f) => `oifname ${qg} ip saddr ${f.fixed_ip_address} snat to ${f.floating_ip_address}`)];
  const subnets = [...new Set(router.interfaces.map((i) => subnetOf(i.ip_address, i.prefix_length)))];
  if (gateway.enable_snat && subnets.length) postrouting.push(`oifname ${qg} ip saddr ${set(subnets)} snat to ${gateway.host_address}`);
  // Hairpin, as Neutron's routers: a guest reaching a floating IP of this host from inside gets
  // answered through the router (not straight from a neighbour on its own subnet, which it would drop).
  if (fips.length) postrouting.push(`iifname != ${qg} oifname != ${qg} ct status dnat snat to ${gateway.host_address}`);

  // Connections NATed for a floating IP keep their conntrack entry after the address goes: stop them.
  const here = fips.map((f) => f.floating_ip_address);
  const forward = ['type filter hook forward priority filter; policy accept;'];
  forward.push(here.length ? `ct status dnat ct original ip daddr != ${set(here)} drop` : 'ct status dnat drop');
  forward.push(`ct status snat ct reply ip daddr != ${set([gateway.host_address, ...here])} drop`);
  return table(ROUTER_NAT_TABLE.family, ROUTER_NAT_TABLE.name, [
    ...chain('prerouting', prerouting),
    '',
    ...chain('output', output),
    '',
    ...chain('postrouting', postrouting),
    '',
    ...chain('forward', forward),
  ]);
}
