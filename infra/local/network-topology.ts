import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The wires a local cloud's hosts hang on, all inside network namespaces this module makes (none
 * is ever joined to the machine's own interfaces):
 *
 *   <p>-ul    the data-centre network: a switch (bridge) the hosts' tunnel interfaces plug into
 *   <p>-pub   the external network's segment: a switch the hosts' external bridges plug into
 *   <p>-ext   "the outside world": one interface on <p>-pub with the public subnet's gateway
 *             address (where `ssh cirros@<floating ip>` runs from; NOVALESS_EXTERNAL_NETNS)
 *   <p>-<h>   one per host agent: its data plane and its QEMU processes; `ul0` on the
 *             data-centre switch (the VTEP), `br-ex` bridged onto the external segment
 *
 * <p> is short and derived from the state dir, so two local clouds on one machine never share one.
 */
export interface Topology {
  prefix: string;
  externalNetns: string;
  /** The outside world's address on the external segment (the public subnet's gateway). */
  externalAddress: string;
}

export interface TopologyHost {
  netns: string;
  tunnelIp: string;
  underlayDev: string;
  externalBridge: string;
}

const UNDERLAY_SUBNET = '192.168.123';
const EXTERNAL_GATEWAY = '203.0.113.1/24';

export function topologyFor(stateDir: string): Topology {
  const prefix = `nl${createHash('sha256').update(stateDir).digest('hex').slice(0, 4)}`;
  return { prefix, externalNetns: `${prefix}-ext`, externalAddress: EXTERNAL_GATEWAY.split('/')[0] };
}

/** Whether this process may make namespaces (root, with ip from iproute2). */
export async function canMakeNamespaces(): Promise<{ ok: boolean; why?: string }> {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not running as root: network namespaces, bridges and taps need root' };
  try {
    await run('ip', ['-V']);
  } catch {
    return { ok: false, why: "the `ip` command (Debian's iproute2) is not installed" };
  }
  return { ok: true };
}

const ip = (...args: string[]) => run('ip', args);
const inNs = (ns: string, ...args: string[]) => run('ip', ['netns', 'exec', ns, ...args]);


async function links(ns: string): Promise<Set<string>> {
  const { stdout } = await ip('-n', ns, '-j', 'link', 'show');
  return new Set((JSON.parse(stdout || '[]') as { ifname: string }[]).map((l) => l.ifname));
}

async function ensureNamespace(ns: string): Promise<void> {
  if (!(await namespaceNames()).includes(ns)) await ip('netns', 'add', ns);
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
  // Nothing here speaks IPv6; router solicitations and DAD only add noise to the segments.
  await inNs(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
}

/** A switch: a bridge named `sw` in its own namespace, carrying no filtering (br_netfilter off there). */
async function ensureSwitch(ns: string): Promise<void> {
  await ensureNamespace(ns);
  await inNs(ns, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0');
  if (!(await links(ns)).has('sw')) await ip('-n', ns, 'link', 'add', 'sw', 'type', 'bridge');
  await ip('-n', ns, 'link', 'set', 'sw', 'up');
}

/** A veth from `ns` (named `inner`, moved there) to the switch in `switchNs` (named `port`). */
async function plugIntoSwitch(ns: string, inner: string, switchNs: string, port: string): Promise<void> {
  if (!(await links(ns)).has(inner)) {
    if ((await links(switchNs)).has(port)) await ip('-n', switchNs, 'link', 'del', port);
    await ip('link', 'add', inner, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', switchNs);
  }
  await ip('-n', switchNs, 'link', 'set', port, 'master', 'sw', 'up');
  await ip('-n', ns, 'link', 'set', inner, 'up');
}

/** The switches and the outside world (idempotent: a restart finds them or puts them back). */
export async function createTopology(t: Topology): Promise<void> {
  await ensureSwitch(`${t.prefix}-ul`);
  await ensureSwitch(`${t.prefix}-pub`);
  await ensureNamespace(t.externalNetns);
  await plugIntoSwitch(t.externalNetns, 'eth0', `${t.prefix}-pub`, 'ext');
  await ip('-n', t.externalNetns, 'addr', 'replace', EXTERNAL_GATEWAY, 'dev', 'eth0');
}

/** A host's namespace, on both switches; host numbers 1..250 give its tunnel address. */
export async function addHost(t: Topology, host: string, number: number): Promise<TopologyHost> {
  const netns = `${t.prefix}-${host}`;
  const port = `h${number}`;
  await ensureNamespace(netns);
  await plugIntoSwitch(netns, 'ul0', `${t.prefix}-ul`, port);
  const tunnelIp = `${UNDERLAY_SUBNET}.${number}`;
  await ip('-n', netns, 'addr', 'replace', `${tunnelIp}/24`, 'dev', 'ul0');
  await plugIntoSwitch(netns, 'ex0', `${t.prefix}-pub`, port);
  if (!(await links(netns)).has('br-ex')) await ip('-n', netns, 'link', 'add', 'br-ex', 'type', 'bridge');
  await ip('-n', netns, 'link', 'set', 'ex0', 'master', 'br-ex');
  await ip('-n', netns, 'link', 'set', 'br-ex', 'up');
  return { netns, tunnelIp, underlayDev: 'ul0', externalBridge: 'br-ex' };
}

/** The names of the machine's network namespaces. */
export async function namespaceNames(): Promise<string[]> {
  const { stdout } = await ip('-j', 'netns', 'list');
  return (JSON.parse(stdout || '[]') as { name: string }[]).map((n) => n.name);
}

/**
 * Removes every namespace whose name starts with `prefix`, stopping what runs inside first
 * (QEMU guests, dnsmasq, metadata proxies): deleting a namespace's name does not end its processes.
 */
export async function removeNamespaces(prefix: string): Promise<void> {
  const ours = (await namespaceNames()).filter((ns) => ns.startsWith(prefix));
  for (const ns of ours) {
    const { stdout } = await ip('netns', 'pids', ns).catch(() => ({ stdout: '' }));
    for (const pid of stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const ns of ours) await ip('netns', 'del', ns).catch(() => undefined);
}

/** Removes every namespace of the topology and what runs in them. */
export const removeTopology = (t: Topology) => removeNamespaces(`${t.prefix}-`);
