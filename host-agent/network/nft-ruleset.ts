import { cidrText, contains, parseCidr, toAddress, toInt } from '../../shared/domain/network/ipv4.js';
import { IP_PROTOCOLS, type HostNetworkState, type PortState, type SecurityGroupRuleState } from './desired-state.js';
import { localNetworks } from './l2.js';
import { localRouterInterfaces } from './router-ruleset.js';
import { bridgeName, SG_TABLE, SPOOF_TABLE, tapName } from './names.js';

/**
 * The host's whole firewall as one nft script, pure. Each of our two tables is declared, deleted
 * and declared again within the one `nft -f` transaction: the kernel swaps the old rules for the
 * new atomically and nothing stale survives.
 *
 * - `bridge novaless_spoof` (stateless, per tap): a port may only send from its MAC and IPs (or
 *   an allowed address pair), ARP likewise, DHCP requests from 0.0.0.0; no IPv6 or other
 *   ethertypes (the data plane does not filter them statefully). Taps without rules drop all,
 *   so a tap is never open between its creation and its rules. DHCP stays on the host.
 * - `inet novaless_sg` (stateful; br_netfilter hands bridged IPv4 to the inet hooks of bridges
 *   with nf_call_iptables, with iif and oif the bridge): ports are told apart by bridge + IP,
 *   which the anti-spoofing makes sound. A conntrack zone per network (by its bridge), so equal
 *   addresses on two networks do not share connections.
 */

export const renderRuleset = (state: HostNetworkState): string => [renderSpoofTable(state), renderSgTable(state)].join('\n');

/** The script that removes both tables (declaring first, so it works when they are absent). */
export const renderTeardown = (): string =>
  [SPOOF_TABLE, SG_TABLE].map((t) => `table ${t.family} ${t.name}\ndelete table ${t.family} ${t.name}\n`).join('');

const chainId = (id: string) => id.replace(/-/g, '_');
const quote = (name: string) => `"${name}"`;
const set = (items: readonly string[]) => (items.length === 1 ? items[0] : `{ ${items.join(', ')} }`);

function table(family: string, name: string, body: string[]): string {
  return [`table ${family} ${name}`, `delete table ${family} ${name}`, `table ${family} ${name} {`, ...body, '}', ''].join('\n');
}

function chain(name: string, lines: string[]): string[] {
  return [`  chain ${name} {`, ...lines.map((l) => `    ${l}`), '  }'];
}

/** Addresses and prefixes with the ones inside another dropped: nft refuses overlapping elements. */
export function mergeAddresses(items: readonly string[]): string[] {
  const entries = [...new Set(items)].map((text) => {
    const [address, bits = '32'] = text.split('/');
    return parseCidr(`${networkOf(address, Number(bits))}/${bits}`);
  });
  return entries
    .filter((a, i) => !entries.some((b, j) => j !== i && (b.prefix < a.prefix ? contains(b, a.base) : b.prefix === a.prefix && b.base === a.base && j < i)))
    .map((c) => (c.prefix === 32 ? toAddress(c.base) : cidrText(c)));
}

/** The network address of `address/prefix` (allowed address pairs may carry host bits). */
function networkOf(address: string, prefix: number): string {
  const size = 2 ** (32 - prefix);
  const n = toInt(address);
  return toAddress(n - (n % size));
}

const portIps = (port: PortState) => port.fixed_ips.map((f) => f.ip_address);

/** The addresses a port may use as its source with its own MAC. */
function ownSources(port: PortState): string[] {
  const pairs = port.allowed_address_pairs.filter((p) => !p.mac_address || p.mac_address === port.mac_address).map((p) => p.ip_address);
  return mergeAddresses([...portIps(port), ...pairs]);
}

function renderSpoofTable(state: HostNetworkState): string {
  const forward = ['type filter hook forward priority filter; policy accept;', `oifname "vx-*" ether type ip udp dport { 67, 68 } drop`];
  const chains: string[] = [];
  for (const port of state.ports) {
    const tap = quote(tapName(port.id));
    if (!port.port_security_enabled) {
      forward.push(`iifname ${tap} accept`);
      continue;
    }
    const name = `port_${chainId(port.id)}`;
    forward.push(`iifname ${tap} jump ${name}`);
    const mac = port.mac_address;
    const sources = ownSources(port);
    const lines: string[] = [];
    if (sources.length) lines.push(`ether saddr ${mac} ip saddr ${set(sources)} accept`);
    lines.push(`ether saddr ${mac} ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept`);
    lines.push(`ether saddr ${mac} arp saddr ether ${mac} arp saddr ip ${set(['0.0.0.0', ...sources])} accept`);
    for (const pair of port.allowed_address_pairs) {
      if (!pair.mac_address || pair.mac_address === mac) continue;
      lines.push(`ether saddr ${pair.mac_address} ip saddr ${pair.ip_address} accept`);
      lines.push(`ether saddr ${pair.mac_address} arp saddr ether ${pair.mac_address} arp saddr ip ${pair.ip_address} accept`);
    }
    lines.push('drop');
    chains.push('', ...chain(name, lines));
  }
  forward.push(`iifname "tap*" drop`);
  return table(SPOOF_TABLE.family, SPOOF_TABLE.name, [...chain('forward', forward), ...chains]);
}

/** A zone per network, from its VNI (zones are 16 bits; 0 is the default zone). */
export const conntrackZone = (vni: number) => (vni % 65535) + 1;

function renderSgTable(state: HostNetworkState): string {
  const groups = new Map(state.security_groups.map((g) => [g.id, g]));
  const secured = state.ports.filter((p) => p.port_security_enabled && p.fixed_ips.length);
  const rulesOf = (port: PortState) => port.security_group_ids.flatMap((id) => groups.get(id)?.rules ?? []).filter((r) => r.ethertype === 'IPv4');

  const remoteGroups = new Set(secured.flatMap((p) => rulesOf(p).flatMap((r) => (r.remote_group_id ? [r.remote_group_id] : []))));
  const sets: string[] = [];
  for (const id of [...remoteGroups].sort()) {
    const members = mergeAddresses(groups.get(id)?.member_ips ?? []);
    sets.push(`  set sg_${chainId(id)} {`, '    type ipv4_addr', '    flags interval', '    auto-merge');
    if (members.length) sets.push(`    elements = { ${members.join(', ')} }`);
    sets.push('  }', '');
  }

  // br_netfilter's prerouting, like its forward hook, sees the bridge as the input device.
  const zones = ['type filter hook prerouting priority raw; policy accept;'];
  // What a router copy here sends to a port on another host is routed asymmetrically (the reply
  // comes back by that host's copy), so conntrack here would see one direction and call it
  // invalid. It goes untracked (and so takes no zone, which would track it); the port's own
  // host filters it, statefully.
  const localAddresses = mergeAddresses(state.ports.flatMap(ownSources));
  const notLocal = localAddresses.length ? ` ip daddr != ${set(localAddresses)}` : '';
  for (const { iface } of localRouterInterfaces(state)) {
    zones.push(`iifname ${quote(bridgeName(iface.network_id))} ether saddr ${iface.mac_address} meta protocol ip${notLocal} notrack accept`);
  }
  for (const network of localNetworks(state)) zones.push(`iifname ${quote(bridgeName(network.id))} ct zone set ${conntrackZone(network.vni)}`);

  const forward = ['type filter hook forward priority filter; policy accept;', 'ct state established,related accept', 'ct state invalid drop'];
  const chains: string[] = [];
  for (const port of secured) {
    const id = chainId(port.id);
    const bridge = quote(bridgeName(port.network_id));
    const addresses = set(ownSources(port));
    forward.push(`iifname ${bridge} ip saddr ${addresses} jump egress_${id}`);
    forward.push(`oifname ${bridge} ip daddr ${addresses} jump ingress_${id}`);
    const rules = rulesOf(port);
    const egress = unique(rules.filter((r) => r.direction === 'egress').map((r) => renderRule(r, 'return')));
    // DHCP replies from this host's dnsmasq always reach the port, whatever its groups say.
    const ingress = unique(['udp sport 67 udp dport 68 accept', ...rules.filter((r) => r.direction === 'ingress').map((r) => renderRule(r, 'accept'))]);
    chains.push('', ...chain(`egress_${id}`, [...egress, 'drop']), '', ...chain(`ingress_${id}`, [...ingress, 'drop']));
  }
  return table(SG_TABLE.family, SG_TABLE.name, [...sets, ...chain('zone', zones), '', ...chain('forward', forward), ...chains]);
}

const unique = (lines: string[]) => [...new Set(lines)];

/** One security group rule as an nft rule; the remote end is the destination of egress, the source of ingress. */
export function renderRule(rule: SecurityGroupRuleState, verdict: 'accept' | 'return'): string {
  const parts: string[] = [];
  const remote = rule.direction === 'egress' ? 'daddr' : 'saddr';
  if (rule.remote_ip_prefix && !/\/0$/.test(rule.remote_ip_prefix)) parts.push(`ip ${remote} ${rule.remote_ip_prefix}`);
  if (rule.remote_group_id) parts.push(`ip ${remote} @sg_${chainId(rule.remote_group_id)}`);
  const protocol = protocolName(rule.protocol);
  const { port_range_min: min, port_range_max: max } = rule;
  if (protocol === 'tcp' || protocol === 'udp' || protocol === 'sctp') {
    parts.push(`meta l4proto ${protocol}`);
    if (min !== null) parts.push(`${protocol} dport ${max !== null && max !== min ? `${min}-${max}` : min}`);
  } else if (protocol === 'icmp') {
    parts.push('meta l4proto icmp');
    if (min !== null) parts.push(`icmp type ${min}`);
    if (min !== null && max !== null) parts.push(`icmp code ${max}`);
  } else if (protocol !== null) {
    parts.push(`meta l4proto ${protocol}`);
  }
  return [...parts, verdict].join(' ');
}

/** A protocol as nft names it: the known names, numbers of known protocols turned into names. */
function protocolName(protocol: string | null): string | null {
  if (protocol === null) return null;
  if (!/^\d+$/.test(protocol)) return protocol;
  const named = Object.entries(IP_PROTOCOLS).find(([, number]) => number === Number(protocol));
  return named ? named[0] : protocol;
}
