import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPath } from '../../host-agent/config.js';
import { execRunner } from '../../host-agent/network/command-runner.js';
import { applyHostNetworkState, teardownHostNetwork, type DataPlaneSummary } from '../../host-agent/network/data-plane.js';
import type { HostNetworkStateInput, RouterPlan } from '../../host-agent/network/desired-state.js';
import { routerGatewayName, routerGatewayPeerName, routerInterfaceName, routerInterfacePeerName, routerNamespace } from '../../host-agent/network/names.js';
import { namespaceNames as namespaces, removeNamespaces } from '../../infra/local/network-topology.js';

/**
 * Distributed routers on real kernel objects: two simulated hosts (nlr-h1, nlr-h2) on an
 * underlay switch (nlr-ul) and an external switch (nlr-pub), to which each host's external
 * bridge and an "outside" namespace (nlr-out, 203.0.113.1, the external gateway) are joined.
 * One router serves two networks; guests are veth stand-ins (see data-plane.test.ts):
 * g1 (h1, net1), g2 (h2, net1), g3 (h1, net2). Each host holds its own copy of the router, with
 * all its interfaces.
 */

const missing = ['ip', 'bridge', 'nft', 'sysctl', 'arping', 'ping', 'timeout', 'bash'].filter((tool) => !onPath(tool, `${process.env.PATH}:/usr/sbin:/sbin`));
const skipReason = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : missing.length ? `missing ${missing.join(', ')}` : '';

const NS = { ul: 'nlr-ul', pub: 'nlr-pub', out: 'nlr-out', h1: 'nlr-h1', h2: 'nlr-h2', g1: 'nlr-g1', g2: 'nlr-g2', g3: 'nlr-g3' } as const;
type Host = 'h1' | 'h2';
type Guest = 'g1' | 'g2' | 'g3';
const HOSTS = ['h1', 'h2'] as const;
const GUESTS = ['g1', 'g2', 'g3'] as const;
const VTEP: Record<Host, string> = { h1: '192.168.78.1', h2: '192.168.78.2' };
const OUTSIDE = '203.0.113.1';
const DVR_MAC: Record<Host, string> = { h1: 'fa:16:3f:00:00:01', h2: 'fa:16:3f:00:00:02' };
const FIP = '203.0.113.50';
const EXTERNAL_BRIDGE = 'br-ex';
const GATEWAY: Record<Host, { address: string; mac: string }> = {
  h1: { address: '203.0.113.11', mac: 'fa:16:3e:ee:00:01' },
  h2: { address: '203.0.113.12', mac: 'fa:16:3e:ee:00:02' },
};

const EXT_NET = 'e0000000-0000-4000-8000-000000000001';
const ROUTER = 'b0000000-0000-4000-8000-000000000001';
const SG = '9d000000-0000-4000-8000-000000000002';
const NETWORKS = {
  net1: { id: '1e000001-0000-4000-8000-000000000011', subnet: '5b000000-0000-4000-8000-000000000011', vni: 2001, prefix: '10.81.1', routerPort: 'c1000001-0000-4000-8000-000000000011', routerMac: 'fa:16:3e:00:0a:01' },
  net2: { id: '1e000002-0000-4000-8000-000000000012', subnet: '5b000000-0000-4000-8000-000000000012', vni: 2002, prefix: '10.81.2', routerPort: 'c1000002-0000-4000-8000-000000000012', routerMac: 'fa:16:3e:00:0a:02' },
};
type Net = keyof typeof NETWORKS;

interface GuestPort {
  id: string;
  host: Host;
  net: Net;
  mac: string;
  ip: string;
}

/** The cloud as the control plane knows it; tests change it and re-apply. */
const cloud = {
  ports: {
    g1: { id: 'a1000000-0000-4000-8000-000000000011', host: 'h1', net: 'net1', mac: 'fa:16:3e:00:01:11', ip: '10.81.1.11' },
    g2: { id: 'a2000000-0000-4000-8000-000000000012', host: 'h2', net: 'net1', mac: 'fa:16:3e:00:01:12', ip: '10.81.1.12' },
    g3: { id: 'a3000000-0000-4000-8000-000000000013', host: 'h1', net: 'net2', mac: 'fa:16:3e:00:02:13', ip: '10.81.2.13' },
  } as Partial<Record<Guest, GuestPort>>,
  /** Floating IP → the guest it is associated with. */
  fips: {} as Record<string, Guest>,
};

const ports = () => Object.entries(cloud.ports) as [Guest, GuestPort][];

function routerFor(host: Host): RouterPlan[] {
  if (!ports().some(([, p]) => p.host === host)) return [];
  return [
    {
      id: ROUTER,
      interfaces: (Object.keys(NETWORKS) as Net[]).map((net) => ({
        port_id: NETWORKS[net].routerPort,
        network_id: NETWORKS[net].id,
        subnet_id: NETWORKS[net].subnet,
        mac_address: NETWORKS[net].routerMac,
        ip_address: `${NETWORKS[net].prefix}.1`,
        prefix_length: 24,
      })),
      gateway: { network_id: EXT_NET, host_address: GATEWAY[host].address, host_mac_address: GATEWAY[host].mac, prefix_length: 24, gateway_ip: OUTSIDE, enable_snat: true },
      floating_ips: Object.entries(cloud.fips)
        .filter(([, guest]) => cloud.ports[guest]?.host === host)
        .map(([fip, guest]) => ({ floating_ip_address: fip, fixed_ip_address: cloud.ports[guest]!.ip, port_id: cloud.ports[guest]!.id })),
    },
  ];
}

function stateFor(host: Host): HostNetworkStateInput {
  const local = ports().filter(([, p]) => p.host === host);
  const members = ports().map(([, p]) => p.ip);
  return {
    netns: NS[host],
    underlay_ip: VTEP[host],
    underlay_dev: 'ul0',
    external_bridge: EXTERNAL_BRIDGE,
    dvr_mac: DVR_MAC[host],
    networks: (Object.keys(NETWORKS) as Net[]).map((net) => {
      const remote = ports().filter(([, p]) => p.host !== host && p.net === net);
      return {
        id: NETWORKS[net].id,
        vni: NETWORKS[net].vni,
        subnets: [{ id: NETWORKS[net].subnet, cidr: `${NETWORKS[net].prefix}.0/24`, gateway_ip: `${NETWORKS[net].prefix}.1`, enable_dhcp: false }],
        flood: [...new Set(remote.map(([, p]) => VTEP[p.host]))],
        remote_ports: remote.map(([, p]) => ({ mac_address: p.mac, ip_address: p.ip, vtep: VTEP[p.host] })),
      };
    }),
    ports: local.map(([, p]) => ({ id: p.id, network_id: NETWORKS[p.net].id, mac_address: p.mac, fixed_ips: [{ subnet_id: NETWORKS[p.net].subnet, ip_address: p.ip }], security_group_ids: [SG] })),
    security_groups: [
      {
        id: SG,
        rules: [
          { id: '7b000000-0000-4000-8000-000000000001', direction: 'ingress', remote_group_id: SG },
          { id: '7b000000-0000-4000-8000-000000000002', direction: 'ingress', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' },
          { id: '7b000000-0000-4000-8000-000000000003', direction: 'ingress', protocol: 'tcp', port_range_min: 7000, port_range_max: 7000, remote_ip_prefix: '0.0.0.0/0' },
          { id: '7b000000-0000-4000-8000-000000000004', direction: 'egress' },
        ],
        member_ips: members,
      },
    ],
    routers: routerFor(host),
  };
}

const stateDirs = {} as Record<Host, string>;
const logs: string[] = [];
const standIns = () => Object.fromEntries(ports().map(([guest, p]) => [p.id, NS[guest]]));
const apply = (host: Host): Promise<DataPlaneSummary> =>
  applyHostNetworkState(stateFor(host), { runner: execRunner, stateDir: stateDirs[host], guestStandIns: standIns(), log: (m) => logs.push(`${host}: ${m}`) });
const teardown = (host: Host) => teardownHostNetwork({ netns: NS[host], underlay_ip: VTEP[host] }, { runner: execRunner, stateDir: stateDirs[host] });

const run = (program: string, args: string[], netns?: string) => execRunner.run(program, args, { netns });
const succeeds = (program: string, args: string[], netns?: string) => run(program, args, netns).then(() => true, () => false);
const ping = (from: string, to: string) => succeeds('ping', ['-c1', '-W1', to], from);
/** What the listener at `to`:7000 says: its name and the address it saw the connection come from. */
const listenerSays = (from: string, to: string) => run('timeout', ['2', 'bash', '-c', `exec 3<>/dev/tcp/${to}/7000 && cat <&3`], from).then((out) => out.trim(), () => '');

async function eventually(check: () => Promise<boolean>, ms = 8_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

async function links(netns?: string): Promise<string[]> {
  return (JSON.parse(await run('ip', ['-j', 'link', 'show'], netns)) as { ifname: string }[]).map((l) => l.ifname);
}

/** The MAC the outside has for an address ('' when none). */
async function outsideNeighbour(address: string): Promise<string> {
  const entries = JSON.parse((await run('ip', ['-j', 'neigh', 'show', address], NS.out)) || '[]') as { lladdr?: string }[];
  return entries[0]?.lladdr ?? '';
}

/** A switch namespace: one bridge `sw`, no rules (br_netfilter off). */
async function makeSwitch(ns: string): Promise<void> {
  await run('sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0'], ns);
  await run('ip', ['link', 'add', 'sw', 'type', 'bridge'], ns);
  await run('ip', ['link', 'set', 'sw', 'up'], ns);
}

/** A veth `local` in `ns` whose peer `port` is on the switch in `switchNs`. */
async function plug(ns: string, local: string, switchNs: string, port: string): Promise<void> {
  await run('ip', ['link', 'add', local, 'type', 'veth', 'peer', 'name', port, 'netns', switchNs], ns);
  await run('ip', ['link', 'set', port, 'master', 'sw', 'up'], switchNs);
  await run('ip', ['link', 'set', local, 'up'], ns);
}

describe.skipIf(Boolean(skipReason))(`distributed routers on namespaces${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const listeners: ChildProcess[] = [];

  beforeAll(async () => {
    await removeNamespaces('nlr-');
    for (const ns of Object.values(NS)) {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['link', 'set', 'lo', 'up'], ns);
    }
    await makeSwitch(NS.ul);
    await makeSwitch(NS.pub);
    for (const host of HOSTS) {
      await plug(NS[host], 'ul0', NS.ul, host);
      await run('ip', ['addr', 'add', `${VTEP[host]}/24`, 'dev', 'ul0'], NS[host]);
      await run('ip', ['link', 'add', EXTERNAL_BRIDGE, 'type', 'bridge'], NS[host]);
      await run('ip', ['link', 'set', EXTERNAL_BRIDGE, 'up'], NS[host]);
      await plug(NS[host], 'ex0', NS.pub, host);
      await run('ip', ['link', 'set', 'ex0', 'master', EXTERNAL_BRIDGE], NS[host]);
      stateDirs[host] = mkdtempSync(join(tmpdir(), `nlr-${host}-`));
    }
    await plug(NS.out, 'eth0', NS.pub, 'out');
    await run('ip', ['addr', 'add', `${OUTSIDE}/24`, 'dev', 'eth0'], NS.out);

    for (const host of HOSTS) expect((await apply(host)).routers.added).toBeGreaterThan(0);
    for (const guest of GUESTS) {
      const port = cloud.ports[guest]!;
      await run('ip', ['addr', 'add', `${port.ip}/24`, 'dev', 'eth0'], NS[guest]);
      await run('ip', ['link', 'set', 'eth0', 'up'], NS[guest]);
      await run('ip', ['route', 'add', 'default', 'via', `${NETWORKS[port.net].prefix}.1`], NS[guest]);
    }
    // A listener in each guest and outside that names itself and the address it saw the connection come from.
    for (const ns of [NS.out, ...GUESTS.map((g) => NS[g])]) {
      const script = `require('net').createServer((s) => s.on('error', () => {}).end('${ns} ' + s.remoteAddress + '\\n')).listen(7000, '0.0.0.0')`;
      listeners.push(spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore' }));
    }
    expect(await eventually(async () => (await listenerSays(NS.out, OUTSIDE)) !== '')).toBe(true);
  });

  afterAll(async () => {
    if (process.env.NOVALESS_KEEP_TEST_STATE) return;
    for (const listener of listeners) listener.kill('SIGKILL');
    for (const host of HOSTS) if (stateDirs[host]) await teardown(host).catch(() => undefined);
    await removeNamespaces('nlr-');
    for (const dir of Object.values(stateDirs)) rmSync(dir, { recursive: true, force: true });
  });

  it('gives each host its own copy of the router, with all its interfaces', async () => {
    const ns = { h1: routerNamespace(NS.h1, ROUTER), h2: routerNamespace(NS.h2, ROUTER) };
    expect(await namespaces()).toEqual(expect.arrayContaining([ns.h1, ns.h2]));
    const [net1, net2] = [routerInterfaceName(NETWORKS.net1.routerPort), routerInterfaceName(NETWORKS.net2.routerPort)];
    expect(await links(ns.h1)).toEqual(expect.arrayContaining([net1, net2, routerGatewayName(ROUTER)]));
    // h2 has no guest on net2, and routes into it all the same.
    expect(await links(ns.h2)).toEqual(expect.arrayContaining([net1, net2, routerGatewayName(ROUTER)]));
    expect(await run('sysctl', ['-n', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter'], ns.h1)).toBe('1\n0\n');
  });

  it('(a) lets a guest without a floating IP out through its own host, SNATed to that host’s address', async () => {
    expect(await eventually(() => ping(NS.g1, OUTSIDE))).toBe(true);
    expect(await listenerSays(NS.g1, OUTSIDE)).toBe(`${NS.out} ${GATEWAY.h1.address}`);
    expect(await listenerSays(NS.g3, OUTSIDE)).toBe(`${NS.out} ${GATEWAY.h1.address}`);
    // g2 shares net1 and its gateway address with g1, but leaves by h2's copy.
    expect(await eventually(() => ping(NS.g2, OUTSIDE))).toBe(true);
    expect(await listenerSays(NS.g2, OUTSIDE)).toBe(`${NS.out} ${GATEWAY.h2.address}`);
    // The outside cannot reach fixed addresses.
    expect(await ping(NS.out, cloud.ports.g1!.ip)).toBe(false);
  });

  it('(c) routes east-west between the two networks on one host, without NAT', async () => {
    expect(await eventually(() => ping(NS.g1, cloud.ports.g3!.ip))).toBe(true);
    expect(await listenerSays(NS.g1, cloud.ports.g3!.ip)).toBe(`${NS.g3} ${cloud.ports.g1!.ip}`);
    expect(await listenerSays(NS.g3, cloud.ports.g1!.ip)).toBe(`${NS.g1} ${cloud.ports.g3!.ip}`);
  });

  it('(c) routes east-west between networks across hosts, each way by the sender’s own host', async () => {
    const [g2, g3] = [cloud.ports.g2!, cloud.ports.g3!];
    expect(await eventually(() => ping(NS.g2, g3.ip))).toBe(true);
    expect(await listenerSays(NS.g2, g3.ip)).toBe(`${NS.g3} ${g2.ip}`);
    expect(await listenerSays(NS.g3, g2.ip)).toBe(`${NS.g2} ${g3.ip}`);
    // The routers never ARPed across: each copy was given the other host's ports.
    const neighbour = await run('ip', ['neigh', 'show', g3.ip], routerNamespace(NS.h2, ROUTER));
    expect(neighbour).toContain(g3.mac);
    expect(neighbour).toContain('PERMANENT');
    // Routed frames crossed with the sending host's DVR MAC: no bridge learned a gateway MAC on a tunnel.
    for (const host of HOSTS) {
      const fdb = await run('bridge', ['fdb', 'show'], NS[host]);
      for (const net of Object.values(NETWORKS)) expect(fdb).not.toMatch(new RegExp(`${net.routerMac} dev vx-`));
    }
    expect(await run('bridge', ['fdb', 'show'], NS.h1)).toMatch(new RegExp(`${DVR_MAC.h2} dev vx-`));
  });

  it('(b) brings the outside to a guest through its floating IP, answered by the guest’s own host', async () => {
    cloud.fips[FIP] = 'g2';
    expect((await apply('h2')).routers.added).toBeGreaterThan(0);
    expect((await apply('h1')).total).toBe(0);
    expect(await eventually(() => ping(NS.out, FIP))).toBe(true);
    expect(await listenerSays(NS.out, FIP)).toBe(`${NS.g2} ${OUTSIDE}`);
    expect(await outsideNeighbour(FIP)).toBe(GATEWAY.h2.mac);
    // Its own traffic out leaves from the floating IP, not from the host's address.
    expect(await listenerSays(NS.g2, OUTSIDE)).toBe(`${NS.out} ${FIP}`);
    expect(await listenerSays(NS.g1, OUTSIDE)).toBe(`${NS.out} ${GATEWAY.h1.address}`);
  });

  it('(e) moves a floating IP to a guest on another host, announced by a gratuitous ARP', async () => {
    cloud.fips[FIP] = 'g1';
    await apply('h2');
    await apply('h1');
    // No flush of the outside's neighbour cache: the new host's announcement updated it.
    expect(await outsideNeighbour(FIP)).toBe(GATEWAY.h1.mac);
    expect(await eventually(() => ping(NS.out, FIP))).toBe(true);
    expect(await listenerSays(NS.out, FIP)).toBe(`${NS.g1} ${OUTSIDE}`);
    expect(await listenerSays(NS.g2, OUTSIDE)).toBe(`${NS.out} ${GATEWAY.h2.address}`);
    expect(await listenerSays(NS.g1, OUTSIDE)).toBe(`${NS.out} ${FIP}`);
  });

  it('(b) lets guests reach a floating IP from inside: its own guest (hairpin), and a guest on another host', async () => {
    expect(cloud.fips[FIP]).toBe('g1');
    expect(await listenerSays(NS.g1, FIP)).toBe(`${NS.g1} ${GATEWAY.h1.address}`);
    // As Neutron's routers do, every inside connection to a floating IP is SNATed to the router.
    expect(await listenerSays(NS.g3, FIP)).toBe(`${NS.g1} ${GATEWAY.h1.address}`);
    expect(await listenerSays(NS.g2, FIP)).toBe(`${NS.g1} ${GATEWAY.h2.address}`);
  });

  it('(b) cuts inbound traffic when the floating IP is disassociated, even for connections already tracked', async () => {
    // A flow the router namespace's conntrack knows: pings with one id, kept going across the change.
    const pinger = spawn('ip', ['netns', 'exec', NS.out, 'ping', '-i', '0.2', '-W', '1', FIP], { stdio: ['ignore', 'pipe', 'ignore'] });
    let replies = 0;
    pinger.stdout!.on('data', (chunk: Buffer) => (replies += (chunk.toString().match(/bytes from/g) ?? []).length));
    try {
      expect(await eventually(async () => replies > 0)).toBe(true);
      delete cloud.fips[FIP];
      const summary = await apply('h1');
      expect(summary.routers.removed).toBeGreaterThan(0);
      await sleep(300);
      const after = replies;
      await sleep(1_000);
      expect(replies).toBe(after);
    } finally {
      pinger.kill('SIGKILL');
    }
    expect(await ping(NS.out, FIP)).toBe(false);
    expect(await listenerSays(NS.out, FIP)).toBe('');
    const ns = routerNamespace(NS.h1, ROUTER);
    expect(await run('ip', ['addr', 'show', 'dev', routerGatewayName(ROUTER)], ns)).not.toContain(FIP);
    expect(await run('nft', ['list', 'ruleset'], ns)).not.toContain(`dnat to ${cloud.ports.g1!.ip}`);
    expect(await listenerSays(NS.g1, OUTSIDE)).toBe(`${NS.out} ${GATEWAY.h1.address}`);
  });

  it('(d) changes nothing when the same state is applied again', async () => {
    const ns = routerNamespace(NS.h1, ROUTER);
    const before = [await run('nft', ['list', 'ruleset'], ns), await run('nft', ['list', 'ruleset'], NS.h1), await run('ip', ['addr', 'show'], ns), await run('ip', ['route', 'show'], ns)];
    for (const host of HOSTS) expect(await apply(host)).toMatchObject({ total: 0 });
    const after = [await run('nft', ['list', 'ruleset'], ns), await run('nft', ['list', 'ruleset'], NS.h1), await run('ip', ['addr', 'show'], ns), await run('ip', ['route', 'show'], ns)];
    expect(after).toEqual(before);
  });

  it('(d) removes stale router namespaces, and a router with the last port behind it on a host', async () => {
    const stale = `${NS.h1}-qr-deadbeef`;
    await run('ip', ['netns', 'add', stale]);
    expect((await apply('h1')).routers).toEqual({ added: 0, changed: 0, removed: 1 });
    expect(await namespaces()).not.toContain(stale);

    delete cloud.ports.g2;
    await apply('h2');
    await apply('h1');
    expect(await namespaces()).not.toContain(routerNamespace(NS.h2, ROUTER));
    expect((await links(NS.h2)).filter((l) => l.startsWith('ri') || l.startsWith('rg'))).toEqual([]);
    expect(await run('nft', ['list', 'tables'], NS.h2)).not.toContain('novaless_dvr');
    // h1's copy is untouched.
    expect(await eventually(() => ping(NS.g1, OUTSIDE))).toBe(true);
  });

  it('(d) tears the routers down with the rest of the host', async () => {
    for (const host of HOSTS) {
      await teardown(host);
      expect((await links(NS[host])).filter((l) => /^(ri|rg|brq|vx-|tap)/.test(l))).toEqual([]);
      expect(await run('nft', ['list', 'tables'], NS[host])).not.toContain('novaless');
    }
    expect((await namespaces()).filter((n) => n.startsWith('nlr-') && n.includes('-qr-'))).toEqual([]);
    const ours = [routerGatewayPeerName(ROUTER), routerInterfacePeerName(NETWORKS.net1.routerPort), routerInterfacePeerName(NETWORKS.net2.routerPort)];
    expect((await links()).filter((l) => ours.includes(l))).toEqual([]);
    expect((await apply('h1')).routers.added).toBeGreaterThan(0);
    expect((await teardown('h1')).routers.removed).toBeGreaterThan(0);
    expect((await namespaces()).filter((n) => n.startsWith('nlr-') && n.includes('-qr-'))).toEqual([]);
  });
});
