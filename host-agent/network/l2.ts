import type { HostNetworkState, NetworkState, PortState } from './desired-state.js';
import { bridgeCmd, disableIpv6, ip, isUp, kindOf, readLinks, type Changes, type HostContext, type Link } from './host-context.js';
import { bridgeName, OWN_BRIDGE, OWN_TAP, OWN_VXLAN, tapName, vxlanName } from './names.js';

/**
 * Layer 2, as Neutron's linuxbridge agent with l2population: per network with a local port (or a
 * local router's interface) a
 * bridge and a unicast VXLAN device; per port a tap on the bridge; per peer host a flood entry,
 * per remote port a unicast FDB entry. Reads the kernel and changes only what differs.
 */

export const VXLAN_PORT = 4789;
const FLOOD_MAC = '00:00:00:00:00:00';

/**
 * Ports whose device is a veth instead of a tap, by port id → namespace holding the other end
 * (named eth0, given the port's MAC). Tests use it to stand in for a guest NIC, which with a tap
 * only QEMU can be; the host side is named and wired exactly like the tap.
 */
export type GuestStandIns = Readonly<Record<string, string>>;

/** The networks this host must wire: those it has a port on, and those its routers route into. */
export function localNetworks(state: HostNetworkState): NetworkState[] {
  const used = new Set([...state.ports.map((p) => p.network_id), ...state.routers.flatMap((r) => r.interfaces.map((i) => i.network_id))]);
  return state.networks.filter((n) => used.has(n.id));
}

/** Removes the ports' devices that are ours but no longer desired: done before the rules they had are dropped. */
export async function removeStalePorts(ctx: HostContext, state: HostNetworkState, changes: Changes): Promise<void> {
  const wanted = new Set(state.ports.map((p) => tapName(p.id)));
  for (const name of (await readLinks(ctx)).keys()) {
    if (OWN_TAP.test(name) && !wanted.has(name)) {
      // A persistent tap a QEMU still holds goes when QEMU closes it.
      await ip(ctx, ['link', 'del', name]);
      ctx.log(`removed port device ${name}`);
      changes.removed++;
    }
  }
}

/** Creates and fixes bridges, VXLAN devices, port devices and FDB entries, then removes the networks no longer here. */
export async function applyL2(ctx: HostContext, state: HostNetworkState, changes: Changes, standIns: GuestStandIns = {}): Promise<void> {
  const links = await readLinks(ctx);
  const networks = localNetworks(state);
  for (const network of networks) {
    const bridge = bridgeName(network.id);
    await ensureBridge(ctx, links.get(bridge), bridge, network.mtu, changes);
    const vxlan = vxlanName(network.vni);
    await ensureVxlan(ctx, state, links.get(vxlan), vxlan, network, changes);
    for (const port of state.ports.filter((p) => p.network_id === network.id)) {
      await ensurePortDevice(ctx, links.get(tapName(port.id)), port, network, standIns[port.id], changes);
    }
    await syncFdb(ctx, vxlan, network, changes);
  }
  const bridges = new Set(networks.map((n) => bridgeName(n.id)));
  const vxlans = new Set(networks.map((n) => vxlanName(n.vni)));
  for (const name of links.keys()) {
    if (OWN_VXLAN.test(name) && !vxlans.has(name)) await removeLink(ctx, name, 'VXLAN device', changes);
  }
  for (const name of links.keys()) {
    if (OWN_BRIDGE.test(name) && !bridges.has(name)) await removeLink(ctx, name, 'bridge', changes);
  }
}

async function removeLink(ctx: HostContext, name: string, what: string, changes: Changes): Promise<void> {
  await ip(ctx, ['link', 'del', name]);
  ctx.log(`removed ${what} ${name}`);
  changes.removed++;
}

async function ensureBridge(ctx: HostContext, link: Link | undefined, name: string, mtu: number, changes: Changes): Promise<void> {
  if (link && kindOf(link) !== 'bridge') {
    await removeLink(ctx, name, 'device in the way of bridge', changes);
    link = undefined;
  }
  if (!link) {
    // nf_call_iptables on the bridge itself: its IPv4 traffic reaches the inet tables whatever the namespace's sysctl says.
    await ip(ctx, ['link', 'add', name, 'mtu', String(mtu), 'type', 'bridge', 'nf_call_iptables', '1']);
    await disableIpv6(ctx, name);
    await ip(ctx, ['link', 'set', name, 'up']);
    ctx.log(`created bridge ${name}`);
    changes.added++;
    return;
  }
  const fixes: string[] = [];
  if (link.linkinfo?.info_data?.nf_call_iptables !== 1) {
    await ip(ctx, ['link', 'set', name, 'type', 'bridge', 'nf_call_iptables', '1']);
    fixes.push('nf_call_iptables 1');
  }
  if (link.mtu !== mtu) {
    await ip(ctx, ['link', 'set', name, 'mtu', String(mtu)]);
    fixes.push(`mtu ${mtu}`);
  }
  if (!isUp(link)) {
    await ip(ctx, ['link', 'set', name, 'up']);
    fixes.push('up');
  }
  if (fixes.length) {
    ctx.log(`set bridge ${name} ${fixes.join(', ')}`);
    changes.changed++;
  }
}

function vxlanMatches(link: Link, state: HostNetworkState, vni: number): boolean {
  const data = link.linkinfo?.info_data ?? {};
  return (
    kindOf(link) === 'vxlan' &&
    data.id === vni &&
    data.local === state.underlay_ip &&
    data.port === VXLAN_PORT &&
    data.learning === false &&
    (state.underlay_dev === undefined || data.link === state.underlay_dev)
  );
}

async function ensureVxlan(ctx: HostContext, state: HostNetworkState, link: Link | undefined, name: string, network: NetworkState, changes: Changes): Promise<void> {
  if (link && !vxlanMatches(link, state, network.vni)) {
    await removeLink(ctx, name, 'VXLAN device with other settings', changes);
    link = undefined;
  }
  if (!link) {
    const dev = state.underlay_dev ? ['dev', state.underlay_dev] : [];
    await ip(ctx, ['link', 'add', name, 'mtu', String(network.mtu), 'type', 'vxlan', 'id', String(network.vni), 'local', state.underlay_ip, 'dstport', String(VXLAN_PORT), 'nolearning', ...dev]);
    await disableIpv6(ctx, name);
    await ip(ctx, ['link', 'set', name, 'master', bridgeName(network.id), 'up']);
    ctx.log(`created VXLAN device ${name} (VNI ${network.vni}) on bridge ${bridgeName(network.id)}`);
    changes.added++;
    return;
  }
  await fixAttachment(ctx, link, name, bridgeName(network.id), network.mtu, changes);
}

/** Sets a device's MTU, master and up state where they differ; the bridge and its rules exist by now. */
export async function fixAttachment(ctx: HostContext, link: Link, name: string, bridge: string, mtu: number, changes: Changes): Promise<void> {
  const fixes: string[] = [];
  if (link.mtu !== mtu) fixes.push('mtu', String(mtu));
  if (link.master !== bridge) fixes.push('master', bridge);
  if (!isUp(link)) fixes.push('up');
  if (!fixes.length) return;
  await ip(ctx, ['link', 'set', name, ...fixes]);
  ctx.log(`set ${name} ${fixes.join(' ')}`);
  changes.changed++;
}

async function ensurePortDevice(ctx: HostContext, link: Link | undefined, port: PortState, network: NetworkState, standIn: string | undefined, changes: Changes): Promise<void> {
  const name = tapName(port.id);
  const kind = standIn ? 'veth' : 'tun';
  if (link && kindOf(link) !== kind) {
    await removeLink(ctx, name, 'port device of another kind', changes);
    link = undefined;
  }
  if (link) return fixAttachment(ctx, link, name, bridgeName(network.id), network.mtu, changes);
  if (standIn) {
    await ip(ctx, ['link', 'add', name, 'mtu', String(network.mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'address', port.mac_address, 'mtu', String(network.mtu), 'netns', standIn]);
  } else {
    // Persistent, so it outlives QEMU restarts; QEMU opens it with -netdev tap,ifname=<name>,script=no,downscript=no.
    await ip(ctx, ['tuntap', 'add', 'dev', name, 'mode', 'tap', 'vnet_hdr']);
    await ip(ctx, ['link', 'set', name, 'mtu', String(network.mtu)]);
  }
  await disableIpv6(ctx, name);
  await ip(ctx, ['link', 'set', name, 'master', bridgeName(network.id), 'up']);
  ctx.log(`created ${standIn ? `veth ${name} (guest end in ${standIn})` : `tap ${name}`} for port ${port.id} on bridge ${bridgeName(network.id)}`);
  changes.added++;
}

interface FdbEntry {
  mac: string;
  dst?: string;
}

/** The VXLAN device's remote entries: one flood entry per peer host, one unicast entry per remote port. */
async function syncFdb(ctx: HostContext, vxlan: string, network: NetworkState, changes: Changes): Promise<void> {
  const current = (JSON.parse((await bridgeCmd(ctx, ['-j', 'fdb', 'show', 'dev', vxlan])) || '[]') as FdbEntry[]).filter((e) => e.dst);
  const key = (mac: string, dst: string) => `${mac} ${dst}`;
  const wanted = new Map<string, 'flood' | 'unicast'>();
  for (const vtep of network.flood) wanted.set(key(FLOOD_MAC, vtep), 'flood');
  for (const port of network.remote_ports) wanted.set(key(port.mac_address, port.vtep), 'unicast');
  const have = new Set(current.map((e) => key(e.mac.toLowerCase(), e.dst!)));
  // Stale entries go first, so that a port that moved host gets its new entry by `replace` below.
  for (const entry of current) {
    if (wanted.has(key(entry.mac.toLowerCase(), entry.dst!))) continue;
    await bridgeCmd(ctx, ['fdb', 'del', entry.mac, 'dev', vxlan, 'dst', entry.dst!]);
    ctx.log(`removed FDB entry ${entry.mac} → ${entry.dst} on ${vxlan}`);
    changes.removed++;
  }
  for (const [entry, kind] of wanted) {
    if (have.has(entry)) continue;
    const [mac, dst] = entry.split(' ');
    await bridgeCmd(ctx, ['fdb', kind === 'flood' ? 'append' : 'replace', mac, 'dev', vxlan, 'dst', dst]);
    ctx.log(`added FDB entry ${mac} → ${dst} on ${vxlan}`);
    changes.added++;
  }
}
