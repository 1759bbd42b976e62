import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ensureMetadataProxy, METADATA_CIDR, proxyFiles, stopMetadataProxy } from '../metadata/metadata-proxy.js';
import type { HostNetworkState, NetworkState } from './desired-state.js';
import { dhcpAddresses, dnsmasqArgs, dnsmasqFiles, dnsmasqHosts, servedSubnets, type DnsmasqFiles } from './dnsmasq-config.js';
import { deleteNamespace, disableIpv6, ip, isUp, kindOf, listNamespaces, readLinks, type Changes, type HostContext } from './host-context.js';
import { fixAttachment, localNetworks } from './l2.js';
import { bridgeName, dhcpHostVethName, dhcpNamespace, dhcpNamespacePrefix, dhcpNsVethName, OWN_DHCP_VETH } from './names.js';
import { argsOf, readPidFile, stopProcess } from './processes.js';

/**
 * DHCP as Neutron's DHCP agent does it, one server per host and network: a namespace holding
 * this host's DHCP port (a veth into the network's bridge) and a dnsmasq that knows this host's
 * ports only (DHCP does not cross VXLAN, see nft-ruleset.ts). Changed hosts → SIGHUP; changed
 * command line or a dead dnsmasq → (re)start; a network gone → dnsmasq stopped, namespace deleted.
 * The namespace also serves Nova's metadata as Neutron's isolated metadata does: 169.254.169.254
 * on the same veth and a proxy to the agent's metadata server (host-agent/metadata/), kept
 * running like dnsmasq; guests get the route to it by DHCP (dnsmasq-config.ts).
 */

/** The networks this host serves DHCP on. */
export const dhcpNetworks = (state: HostNetworkState) => localNetworks(state).filter((n) => n.dhcp && servedSubnets(n).length > 0);

export async function applyDhcp(ctx: HostContext, state: HostNetworkState, changes: Changes): Promise<void> {
  const wanted = dhcpNetworks(state);
  const namespaces = await listNamespaces(ctx);
  for (const network of wanted) await ensureDhcp(ctx, state, network, namespaces, changes);
  await removeStale(ctx, new Set(wanted.map((n) => n.id)), namespaces, changes);
}

async function ensureDhcp(ctx: HostContext, state: HostNetworkState, network: NetworkState, namespaces: Set<string>, changes: Changes): Promise<void> {
  const ns = dhcpNamespace(ctx.netns, network.id);
  if (!namespaces.has(ns)) {
    await ctx.runner.run('ip', ['netns', 'add', ns]);
    await ip(ctx, ['link', 'set', 'lo', 'up'], ns);
    ctx.log(`created DHCP namespace ${ns}`);
    changes.added++;
  }
  await ensurePortVeth(ctx, network, ns, changes);
  const files = dnsmasqFiles(ctx.stateDir, network.id);
  await prepareDir(files.dir);
  const hosts = dnsmasqHosts(state, network);
  const hostsChanged = (await readFile(files.hostsFile, 'utf8').catch(() => undefined)) !== hosts;
  if (hostsChanged) await writeFile(files.hostsFile, hosts, { mode: 0o644 });
  await ensureDnsmasq(ctx, network, ns, files, hostsChanged, changes);
  await ensureMetadataProxy(ctx, network.id, ns, proxyFiles(files.dir), changes);
}

/**
 * dnsmasq drops to `nobody` once started and reads its hosts file again on each SIGHUP: the
 * file must be readable by others, and every directory above it searchable. Said plainly here,
 * rather than as a silent "no address available" to every guest.
 */
async function prepareDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  await chmod(dirname(dir), 0o755);
  for (let parent = dirname(dirname(dir)); ; parent = dirname(parent)) {
    if (((await stat(parent)).mode & 0o001) === 0) throw new Error(`dnsmasq (running as nobody) cannot reach ${dir}: ${parent} is not searchable by others (chmod o+x ${parent})`);
    if (parent === dirname(parent)) return;
  }
}

/** The veth from the bridge into the namespace, carrying the DHCP port's MAC and addresses. */
async function ensurePortVeth(ctx: HostContext, network: NetworkState, ns: string, changes: Changes): Promise<void> {
  const [hostName, nsName] = [dhcpHostVethName(network.id), dhcpNsVethName(network.id)];
  const mtu = String(network.mtu);
  const mac = network.dhcp!.mac_address;
  const hostSide = (await readLinks(ctx)).get(hostName);
  let nsSide = (await readLinks(ctx, ns)).get(nsName);
  if (!hostSide || !nsSide || kindOf(hostSide) !== 'veth') {
    // Deleting one end of a veth deletes the other.
    if (hostSide) await ip(ctx, ['link', 'del', hostName]);
    if (nsSide && (await readLinks(ctx, ns)).has(nsName)) await ip(ctx, ['link', 'del', nsName], ns);
    await ip(ctx, ['link', 'add', hostName, 'mtu', mtu, 'type', 'veth', 'peer', 'name', nsName, 'address', mac, 'mtu', mtu, 'netns', ns]);
    await disableIpv6(ctx, hostName);
    await disableIpv6(ctx, nsName, ns);
    await ip(ctx, ['link', 'set', hostName, 'master', bridgeName(network.id), 'up']);
    await ip(ctx, ['link', 'set', nsName, 'up'], ns);
    ctx.log(`created DHCP port veth ${hostName} on bridge ${bridgeName(network.id)}`);
    changes.added++;
    nsSide = undefined;
  } else {
    await fixAttachment(ctx, hostSide, hostName, bridgeName(network.id), network.mtu, changes);
    const fixes: string[] = [];
    if (nsSide.address?.toLowerCase() !== mac) fixes.push('address', mac);
    if (nsSide.mtu !== network.mtu) fixes.push('mtu', mtu);
    if (!isUp(nsSide)) fixes.push('up');
    if (fixes.length) {
      await ip(ctx, ['link', 'set', nsName, ...fixes], ns);
      changes.changed++;
    }
  }
  await syncAddresses(ctx, ns, nsName, [...dhcpAddresses(network), METADATA_CIDR], changes);
}

const AddrSchema = z.array(z.looseObject({ addr_info: z.array(z.looseObject({ family: z.string(), local: z.string(), prefixlen: z.number() })).default([]) }));

async function syncAddresses(ctx: HostContext, ns: string, device: string, wanted: string[], changes: Changes): Promise<void> {
  const shown = AddrSchema.parse(JSON.parse((await ip(ctx, ['-j', 'addr', 'show', 'dev', device], ns)) || '[]'));
  const have = shown.flatMap((l) => l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`));
  for (const address of have.filter((a) => !wanted.includes(a))) {
    await ip(ctx, ['addr', 'del', address, 'dev', device], ns);
    changes.removed++;
  }
  for (const address of wanted.filter((a) => !have.includes(a))) {
    await ip(ctx, ['addr', 'add', address, 'dev', device], ns);
    ctx.log(`gave the DHCP port ${device} address ${address}`);
    changes.added++;
  }
}

async function ensureDnsmasq(ctx: HostContext, network: NetworkState, ns: string, files: DnsmasqFiles, hostsChanged: boolean, changes: Changes): Promise<void> {
  const args = dnsmasqArgs(network, files);
  const pid = await readPidFile(files.pidFile);
  const running = pid === undefined ? undefined : await argsOf(pid);
  const ours = running?.includes(`--pid-file=${files.pidFile}`);
  if (ours && running!.join('\0') === args.join('\0')) {
    if (hostsChanged) {
      process.kill(pid!, 'SIGHUP');
      ctx.log(`told dnsmasq of network ${network.id} its new hosts (SIGHUP)`);
      changes.changed++;
    }
    return;
  }
  if (ours) await stopProcess(pid!);
  await rm(files.pidFile, { force: true });
  // dnsmasq forks; its parent exits once the server is listening, or fails with the reason.
  await ctx.runner.run('dnsmasq', args, { netns: ns });
  ctx.log(`${ours ? 'restarted' : 'started'} dnsmasq for network ${network.id} in ${ns}`);
  if (ours) changes.changed++;
  else changes.added++;
}

async function removeStale(ctx: HostContext, wanted: Set<string>, namespaces: Set<string>, changes: Changes): Promise<void> {
  const dhcpDir = join(ctx.stateDir, 'dhcp');
  for (const networkId of await readdir(dhcpDir).catch(() => [] as string[])) {
    if (wanted.has(networkId)) continue;
    const files = dnsmasqFiles(ctx.stateDir, networkId);
    const pid = await readPidFile(files.pidFile);
    if (pid !== undefined && (await argsOf(pid))?.includes(`--pid-file=${files.pidFile}`)) {
      await stopProcess(pid);
      ctx.log(`stopped dnsmasq of network ${networkId}`);
      changes.removed++;
    }
    await stopMetadataProxy(ctx, networkId, proxyFiles(files.dir), changes);
    await rm(files.dir, { recursive: true, force: true });
  }
  // The veths go before the namespaces: deleting a namespace destroys its devices asynchronously.
  const wantedVeths = new Set([...wanted].map(dhcpHostVethName));
  for (const name of (await readLinks(ctx)).keys()) {
    if (OWN_DHCP_VETH.test(name) && !wantedVeths.has(name)) {
      await ip(ctx, ['link', 'del', name]);
      ctx.log(`removed DHCP port veth ${name}`);
      changes.removed++;
    }
  }
  const wantedNamespaces = new Set([...wanted].map((id) => dhcpNamespace(ctx.netns, id)));
  const prefix = dhcpNamespacePrefix(ctx.netns);
  for (const ns of namespaces) {
    if (!ns.startsWith(prefix) || wantedNamespaces.has(ns)) continue;
    await deleteNamespace(ctx, ns);
    ctx.log(`removed DHCP namespace ${ns}`);
    changes.removed++;
  }
}
