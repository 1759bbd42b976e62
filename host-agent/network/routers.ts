import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CommandError } from './command-runner.js';
import type { HostNetworkState, RouterPlan } from './desired-state.js';
import { deleteNamespace, disableIpv6, ip, isUp, kindOf, listNamespaces, readLinks, type Changes, type HostContext, type Link } from './host-context.js';
import { fixAttachment } from './l2.js';
import {
  bridgeName,
  OWN_ROUTER_NS_DEVICE,
  OWN_ROUTER_VETH,
  routerGatewayName,
  routerGatewayPeerName,
  routerInterfaceName,
  routerInterfacePeerName,
  ROUTER_ISOLATION_TABLE,
  ROUTER_NAT_TABLE,
  routerNamespace,
  routerNamespacePrefix,
} from './names.js';
import { routerNeighbours, syncRouterNeighbours } from './router-neighbours.js';
import { localRouterInterfaces, renderRouterIsolation, renderRouterNat, renderTableRemoval } from './router-ruleset.js';

/**
 * Distributed routers, as Neutron DVR or nova-network's multi_host: every host with a port
 * behind a router holds its own copy, with all its interfaces, so east-west and north-south
 * traffic of a host's guests leaves from that host. Per router a namespace with
 * - per interface a veth `qr-<port>` (the subnet's gateway address and the router port's MAC,
 *   the same on every host) whose peer `ri<port>` is on the network's bridge; the copies are
 *   kept apart by the host's `bridge novaless_dvr` table (router-ruleset.ts), and permanent
 *   neighbour entries for the ports on other hosts (router-neighbours.ts);
 * - with a gateway, a veth `qg-<router>` (this host's external address and MAC, and the floating
 *   IPs of this host's ports, so this namespace answers ARP for them) whose peer `rg<router>` is
 *   on the external bridge; a default route to the external gateway; the router's NAT table,
 *   and a gratuitous ARP for each floating IP that appears here (it may have moved from another host).
 *
 * Order: stale routers and interfaces go first (their isolation rules still hold), then the
 * isolation table is replaced (before any new interface joins a bridge), then each router is
 * brought to its state. Reads the kernel and changes only what differs.
 */

const recordDir = (ctx: HostContext) => join(ctx.stateDir, 'routers');
const ROUTER_NS_SUFFIX = /^[0-9a-f]{8}$/;

export async function applyRouters(ctx: HostContext, state: HostNetworkState, changes: Changes): Promise<void> {
  const namespaces = await listNamespaces(ctx);
  await removeStale(ctx, state, namespaces, changes);
  await applyTable(ctx, undefined, ROUTER_ISOLATION_TABLE, renderRouterIsolation(state), join(recordDir(ctx), 'isolation.json'), 'router isolation rules', changes);
  for (const router of state.routers) await ensureRouter(ctx, state, router, namespaces, changes);
}

/** The host-side veth names a router needs here. */
function wantedPeers(state: HostNetworkState): Set<string> {
  const names = localRouterInterfaces(state).map(({ iface }) => routerInterfacePeerName(iface.port_id));
  if (state.external_bridge) names.push(...state.routers.filter((r) => r.gateway).map((r) => routerGatewayPeerName(r.id)));
  return new Set(names);
}

async function removeStale(ctx: HostContext, state: HostNetworkState, namespaces: Set<string>, changes: Changes): Promise<void> {
  // The veths go before the namespaces: deleting a namespace destroys its devices asynchronously.
  const peers = wantedPeers(state);
  for (const name of (await readLinks(ctx)).keys()) {
    if (OWN_ROUTER_VETH.test(name) && !peers.has(name)) {
      await ip(ctx, ['link', 'del', name]);
      ctx.log(`removed router veth ${name}`);
      changes.removed++;
    }
  }
  const wanted = new Set(state.routers.map((r) => routerNamespace(ctx.netns, r.id)));
  const prefix = routerNamespacePrefix(ctx.netns);
  for (const ns of namespaces) {
    if (!ns.startsWith(prefix) || !ROUTER_NS_SUFFIX.test(ns.slice(prefix.length)) || wanted.has(ns)) continue;
    await deleteNamespace(ctx, ns);
    await rm(natRecord(ctx, ns), { force: true });
    ctx.log(`removed router namespace ${ns}`);
    changes.removed++;
  }
}

const natRecord = (ctx: HostContext, ns: string) => join(recordDir(ctx), `nat-${ns}.json`);

async function ensureRouter(ctx: HostContext, state: HostNetworkState, router: RouterPlan, namespaces: Set<string>, changes: Changes): Promise<void> {
  const ns = routerNamespace(ctx.netns, router.id);
  if (!namespaces.has(ns)) {
    await ctx.runner.run('ip', ['netns', 'add', ns]);
    await ip(ctx, ['link', 'set', 'lo', 'up'], ns);
    // Before any device exists, so that each takes rp_filter 0 from `default`.
    await ctx.runner.run('sysctl', ['-qw', ...ROUTER_SYSCTLS.map(([k, v]) => `${k}=${v}`)], { netns: ns });
    ctx.log(`created router namespace ${ns} for router ${router.id}`);
    changes.added++;
  }
  const hostLinks = await readLinks(ctx);
  const nsLinks = await readLinks(ctx, ns);
  const wanted = new Set<string>();

  for (const { iface, mtu } of localRouterInterfaces(state).filter((i) => i.router.id === router.id)) {
    const name = routerInterfaceName(iface.port_id);
    wanted.add(name);
    await ensureVeth(ctx, { ns, hostName: routerInterfacePeerName(iface.port_id), nsName: name, master: bridgeName(iface.network_id), mtu, mac: iface.mac_address }, hostLinks, nsLinks, changes);
    await syncAddresses(ctx, ns, name, [`${iface.ip_address}/${iface.prefix_length}`], changes);
  }

  const gateway = router.gateway && state.external_bridge ? router.gateway : null;
  if (router.gateway && !state.external_bridge) ctx.log(`router ${router.id} has an external gateway but this host has no external bridge: no gateway here`);
  const announce: string[] = [];
  const qg = routerGatewayName(router.id);
  if (gateway) {
    wanted.add(qg);
    await ensureVeth(ctx, { ns, hostName: routerGatewayPeerName(router.id), nsName: qg, master: state.external_bridge!, mac: gateway.host_mac_address }, hostLinks, nsLinks, changes);
    const addresses = [`${gateway.host_address}/${gateway.prefix_length}`, ...router.floating_ips.map((f) => `${f.floating_ip_address}/32`)];
    const added = await syncAddresses(ctx, ns, qg, addresses, changes);
    announce.push(...added.filter((a) => a.endsWith('/32') && a !== addresses[0]).map((a) => a.split('/')[0]));
  }
  for (const name of (await readLinks(ctx, ns)).keys()) {
    if (OWN_ROUTER_NS_DEVICE.test(name) && !wanted.has(name)) {
      await ip(ctx, ['link', 'del', name], ns);
      ctx.log(`removed ${name} from router namespace ${ns}`);
      changes.removed++;
    }
  }
  await ensureDefaultRoute(ctx, ns, gateway ? { via: gateway.gateway_ip, dev: qg } : null, changes);
  await ensureSysctls(ctx, ns, [...wanted], changes);
  await syncRouterNeighbours(ctx, ns, routerNeighbours(state, router), changes);
  await applyTable(ctx, ns, ROUTER_NAT_TABLE, renderRouterNat({ ...router, gateway }), natRecord(ctx, ns), `NAT of router ${router.id}`, changes);
  for (const fip of announce) await announceAddress(ctx, ns, qg, fip);
}

/** Forwarding on; reverse-path filtering off (distributed routing is asymmetric: replies may come back by another host's copy). */
const ROUTER_SYSCTLS: [string, string][] = [
  ['net.ipv4.ip_forward', '1'],
  ['net.ipv4.conf.all.rp_filter', '0'],
  ['net.ipv4.conf.default.rp_filter', '0'],
];

async function ensureSysctls(ctx: HostContext, ns: string, devices: string[], changes: Changes): Promise<void> {
  const wanted = [...ROUTER_SYSCTLS, ...devices.map((d): [string, string] => [`net.ipv4.conf.${d}.rp_filter`, '0'])];
  const current = (await ctx.runner.run('sysctl', ['-n', ...wanted.map(([k]) => k)], { netns: ns })).split(/\s+/).filter(Boolean);
  const differ = wanted.filter(([, v], i) => current[i] !== v);
  if (!differ.length) return;
  await ctx.runner.run('sysctl', ['-qw', ...differ.map(([k, v]) => `${k}=${v}`)], { netns: ns });
  ctx.log(`set ${differ.map(([k, v]) => `${k}=${v}`).join(', ')} in ${ns}`);
  changes.changed++;
}

interface VethPlan {
  ns: string;
  hostName: string;
  nsName: string;
  /** The bridge the host end joins. */
  master: string;
  /** Both ends' MTU; absent = the kernel's default, left alone. */
  mtu?: number;
  /** The namespace end's MAC. */
  mac: string;
}

async function ensureVeth(ctx: HostContext, plan: VethPlan, hostLinks: Map<string, Link>, nsLinks: Map<string, Link>, changes: Changes): Promise<void> {
  const { ns, hostName, nsName, master, mtu, mac } = plan;
  const hostSide = hostLinks.get(hostName);
  const nsSide = nsLinks.get(nsName);
  if (hostSide && nsSide && kindOf(hostSide) === 'veth' && kindOf(nsSide) === 'veth' && nsSide.address?.toLowerCase() === mac) {
    await fixAttachment(ctx, hostSide, hostName, master, mtu ?? hostSide.mtu, changes);
    const fixes = [...(mtu !== undefined && nsSide.mtu !== mtu ? ['mtu', String(mtu)] : []), ...(isUp(nsSide) ? [] : ['up'])];
    if (fixes.length) {
      await ip(ctx, ['link', 'set', nsName, ...fixes], ns);
      ctx.log(`set ${nsName} ${fixes.join(' ')} in ${ns}`);
      changes.changed++;
    }
    return;
  }
  // Deleting one end of a veth deletes the other.
  if (hostSide) await ip(ctx, ['link', 'del', hostName]);
  if (nsSide && (await readLinks(ctx, ns)).has(nsName)) await ip(ctx, ['link', 'del', nsName], ns);
  const mtuArgs = mtu === undefined ? [] : ['mtu', String(mtu)];
  await ip(ctx, ['link', 'add', hostName, ...mtuArgs, 'type', 'veth', 'peer', 'name', nsName, 'address', mac, ...mtuArgs, 'netns', ns]);
  await disableIpv6(ctx, hostName);
  await disableIpv6(ctx, nsName, ns);
  await ip(ctx, ['link', 'set', hostName, 'master', master, 'up']);
  await ip(ctx, ['link', 'set', nsName, 'up'], ns);
  ctx.log(`created router veth ${nsName} in ${ns}, its peer ${hostName} on ${master}`);
  changes.added++;
}

const AddressesSchema = z.array(z.looseObject({ addr_info: z.array(z.looseObject({ family: z.string(), local: z.string(), prefixlen: z.number() })) }));

/** Gives a device exactly `wanted` (CIDR texts); returns the ones it added. */
async function syncAddresses(ctx: HostContext, ns: string, device: string, wanted: string[], changes: Changes): Promise<string[]> {
  const shown = AddressesSchema.parse(JSON.parse((await ip(ctx, ['-j', 'addr', 'show', 'dev', device], ns)) || '[]'));
  const have = shown.flatMap((l) => l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`));
  for (const address of have.filter((a) => !wanted.includes(a))) {
    await ip(ctx, ['addr', 'del', address, 'dev', device], ns);
    ctx.log(`removed address ${address} from ${device} in ${ns}`);
    changes.removed++;
  }
  const added = wanted.filter((a) => !have.includes(a));
  for (const address of added) {
    await ip(ctx, ['addr', 'add', address, 'dev', device], ns);
    ctx.log(`gave ${device} in ${ns} address ${address}`);
    changes.added++;
  }
  return added;
}

const RoutesSchema = z.array(z.looseObject({ dst: z.string(), gateway: z.string().optional(), dev: z.string().optional() }));

async function ensureDefaultRoute(ctx: HostContext, ns: string, wanted: { via: string | null; dev: string } | null, changes: Changes): Promise<void> {
  const current = RoutesSchema.parse(JSON.parse((await ip(ctx, ['-j', 'route', 'show', 'default'], ns)) || '[]'))[0];
  const via = wanted?.via ?? null;
  if (via === null) {
    if (!current) return;
    await ip(ctx, ['route', 'del', 'default'], ns);
    ctx.log(`removed the default route of ${ns}`);
    changes.removed++;
    return;
  }
  if (current?.gateway === via && current.dev === wanted!.dev) return;
  await ip(ctx, ['route', 'replace', 'default', 'via', via, 'dev', wanted!.dev], ns);
  ctx.log(`routed ${ns} by default via ${via}`);
  if (current) changes.changed++;
  else changes.added++;
}

/**
 * A gratuitous ARP for an address that appeared on `device`, so neighbours that knew it at
 * another host's MAC (a floating IP that moved) update at once. Best effort: without it they
 * learn the new MAC when their entry goes stale.
 */
async function announceAddress(ctx: HostContext, ns: string, device: string, address: string): Promise<void> {
  try {
    await ctx.runner.run('arping', ['-U', '-c', '1', '-I', device, address], { netns: ns, timeoutMs: 5_000 });
    ctx.log(`announced ${address} on ${device} (gratuitous ARP)`);
  } catch (error) {
    ctx.log(`could not announce ${address} on ${device} (install iputils-arping): ${error instanceof Error ? error.message : String(error)}`);
  }
}

interface AppliedRecord {
  scriptHash: string;
  listing: string;
}

/**
 * Puts one of our tables in a namespace (`undefined` = the host's) as one transaction, or
 * removes it when `script` is ''. Like security-groups.ts, "differs" is judged on the script
 * against the one applied last and on the kernel's listing against the one taken after it.
 */
async function applyTable(ctx: HostContext, netns: string | undefined, t: { family: string; name: string }, script: string, recordFile: string, what: string, changes: Changes): Promise<void> {
  const where = netns ?? ctx.netns;
  const nft = (args: string[], stdin?: string) => ctx.runner.run('nft', args, { netns: where, stdin });
  const list = async () => {
    try {
      return await nft(['list', 'table', t.family, t.name]);
    } catch (error) {
      if (error instanceof CommandError && /No such file or directory/.test(error.stderr)) return '';
      throw error;
    }
  };
  const before = await list();
  if (!script) {
    if (before) {
      await nft(['-f', '-'], renderTableRemoval(t));
      ctx.log(`removed the ${what}`);
      changes.removed++;
    }
    await rm(recordFile, { force: true });
    return;
  }
  const scriptHash = createHash('sha256').update(script).digest('hex');
  const record = await readFile(recordFile, 'utf8').then(
    (text) => JSON.parse(text) as AppliedRecord,
    () => undefined,
  );
  if (record?.scriptHash === scriptHash && record.listing === before) return;
  await nft(['-f', '-'], script);
  await mkdir(recordDir(ctx), { recursive: true });
  await writeFile(recordFile, JSON.stringify({ scriptHash, listing: await list() } satisfies AppliedRecord));
  ctx.log(`${before ? 'replaced' : 'put in place'} the ${what}`);
  if (before) changes.changed++;
  else changes.added++;
}
