import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPath } from '../../host-agent/config.js';
import { execRunner } from '../../host-agent/network/command-runner.js';
import { applyHostNetworkState, teardownHostNetwork, type DataPlaneSummary } from '../../host-agent/network/data-plane.js';
import type { HostNetworkStateInput, SecurityGroupRuleStateInput } from '../../host-agent/network/desired-state.js';
import { dnsmasqFiles } from '../../host-agent/network/dnsmasq-config.js';
import { bridgeName, dhcpNamespace, tapName, vxlanName } from '../../host-agent/network/names.js';
import { argsOf } from '../../host-agent/network/processes.js';
import { namespaceNames as namespaces, removeNamespaces } from '../../infra/local/network-topology.js';

/**
 * The host data plane on real kernel objects: two simulated hosts (namespaces nlt-h1, nlt-h2)
 * joined by an underlay switch (nlt-ul), and three "guests" (nlt-g1..3). A guest NIC is a veth
 * whose host end the data plane wires exactly like the tap QEMU would open (guestStandIns), so
 * no QEMU is needed. A tiny control plane below computes each host's desired state.
 */

const missing = ['ip', 'bridge', 'nft', 'dnsmasq', 'sysctl', 'busybox'].filter((tool) => !onPath(tool, `${process.env.PATH}:/usr/sbin:/sbin`));
const skipReason = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : missing.length ? `missing ${missing.join(', ')}` : '';

const NS = { ul: 'nlt-ul', h1: 'nlt-h1', h2: 'nlt-h2', g1: 'nlt-g1', g2: 'nlt-g2', g3: 'nlt-g3' } as const;
type Host = 'h1' | 'h2';
type Guest = 'g1' | 'g2' | 'g3';
const VTEP: Record<Host, string> = { h1: '192.168.77.1', h2: '192.168.77.2' };

const NET = '1e000000-0000-4000-8000-000000000001';
const SUBNET = '5b000000-0000-4000-8000-000000000001';
const SG_DEFAULT = '9d000000-0000-4000-8000-000000000001';
const SG_OTHER = '9e000000-0000-4000-8000-000000000001';
const VNI = 1001;
const PORT_IDS = { g1: 'a1000000-0000-4000-8000-000000000001', g2: 'a2000000-0000-4000-8000-000000000002', g3: 'a3000000-0000-4000-8000-000000000003' };
const rule = (n: number) => `7a000000-0000-4000-8000-00000000000${n}`;

interface GuestPort {
  id: string;
  host: Host;
  mac: string;
  ip: string;
  groups: string[];
  pairs: { ip_address: string }[];
}

/** The cloud as the control plane knows it; each test changes it and re-applies. */
const cloud = {
  ports: {
    g1: { id: PORT_IDS.g1, host: 'h1', mac: 'fa:16:3e:00:00:01', ip: '10.77.0.11', groups: [SG_DEFAULT], pairs: [] },
    g2: { id: PORT_IDS.g2, host: 'h2', mac: 'fa:16:3e:00:00:02', ip: '10.77.0.12', groups: [SG_DEFAULT], pairs: [] },
    g3: { id: PORT_IDS.g3, host: 'h1', mac: 'fa:16:3e:00:00:03', ip: '10.77.0.13', groups: [SG_OTHER], pairs: [] },
  } as Partial<Record<Guest, GuestPort>>,
  defaultIngress: [{ id: rule(1), direction: 'ingress', remote_group_id: SG_DEFAULT }] as SecurityGroupRuleStateInput[],
  /** Addresses the control plane puts in the default group besides its ports' fixed IPs. */
  extraMembers: [] as string[],
  flood: true,
};

const DHCP_PORT: Record<Host, { mac_address: string; ip: string }> = {
  h1: { mac_address: 'fa:16:3e:00:d1:01', ip: '10.77.0.2' },
  h2: { mac_address: 'fa:16:3e:00:d1:02', ip: '10.77.0.3' },
};

const ports = () => Object.entries(cloud.ports) as [Guest, GuestPort][];

function stateFor(host: Host): HostNetworkStateInput {
  const local = ports().filter(([, p]) => p.host === host);
  const remote = ports().filter(([, p]) => p.host !== host);
  const members = (group: string) => [...ports().filter(([, p]) => p.groups.includes(group)).map(([, p]) => p.ip), ...(group === SG_DEFAULT ? cloud.extraMembers : [])];
  return {
    netns: NS[host],
    underlay_ip: VTEP[host],
    underlay_dev: 'ul0',
    networks: [
      {
        id: NET,
        vni: VNI,
        mtu: 1450,
        subnets: [{ id: SUBNET, cidr: '10.77.0.0/24', gateway_ip: '10.77.0.1', enable_dhcp: true, dns_nameservers: ['10.77.0.1'], host_routes: [{ destination: '10.99.0.0/24', nexthop: '10.77.0.1' }] }],
        dhcp: { mac_address: DHCP_PORT[host].mac_address, fixed_ips: [{ subnet_id: SUBNET, ip_address: DHCP_PORT[host].ip }] },
        flood: cloud.flood ? [...new Set(remote.map(([, p]) => VTEP[p.host]))] : [],
        remote_ports: cloud.flood ? remote.map(([, p]) => ({ mac_address: p.mac, ip_address: p.ip, vtep: VTEP[p.host] })) : [],
      },
    ],
    ports: local.map(([, p]) => ({
      id: p.id,
      network_id: NET,
      mac_address: p.mac,
      fixed_ips: [{ subnet_id: SUBNET, ip_address: p.ip }],
      allowed_address_pairs: p.pairs,
      security_group_ids: p.groups,
    })),
    security_groups: [
      { id: SG_DEFAULT, rules: [...cloud.defaultIngress, { id: rule(2), direction: 'egress' }], member_ips: members(SG_DEFAULT) },
      { id: SG_OTHER, rules: [{ id: rule(3), direction: 'egress' }], member_ips: members(SG_OTHER) },
    ],
  };
}

const stateDirs = {} as Record<Host, string>;
const logs: string[] = [];
const standIns = () => Object.fromEntries(ports().map(([guest, p]) => [p.id, NS[guest]]));
const apply = (host: Host): Promise<DataPlaneSummary> =>
  applyHostNetworkState(stateFor(host), { runner: execRunner, stateDir: stateDirs[host], guestStandIns: standIns(), log: (m) => logs.push(`${host}: ${m}`) });

const run = (program: string, args: string[], netns?: string) => execRunner.run(program, args, { netns });
const succeeds = (program: string, args: string[], netns?: string) => run(program, args, netns).then(() => true, () => false);
const ping = (from: Guest, to: string, extra: string[] = []) => succeeds('ping', ['-c1', '-W1', ...extra, to], NS[from]);
const tcpConnects = (from: Guest, to: string, port: number) => succeeds('timeout', ['1.5', 'bash', '-c', `exec 3<>/dev/tcp/${to}/${port}`], NS[from]);

/** Polls until `check` is true (a packet may need ARP, FDB and conntrack to settle); false after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 8_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

async function links(netns: string): Promise<string[]> {
  return (JSON.parse(await run('ip', ['-j', 'link', 'show'], netns)) as { ifname: string }[]).map((l) => l.ifname);
}

async function configureGuest(guest: Guest): Promise<void> {
  const ns = NS[guest];
  await run('ip', ['addr', 'flush', 'dev', 'eth0'], ns);
  await run('ip', ['addr', 'add', `${cloud.ports[guest]!.ip}/24`, 'dev', 'eth0'], ns);
  await run('ip', ['link', 'set', 'eth0', 'up'], ns);
}

describe.skipIf(Boolean(skipReason))(`host data plane on namespaces${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let listener: ChildProcess | undefined;

  beforeAll(async () => {
    await removeNamespaces('nlt-');
    for (const ns of Object.values(NS)) {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['link', 'set', 'lo', 'up'], ns);
    }
    // The underlay switch carries no rules: keep br_netfilter off in it.
    await run('sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0'], NS.ul);
    await run('ip', ['link', 'add', 'sw', 'type', 'bridge'], NS.ul);
    await run('ip', ['link', 'set', 'sw', 'up'], NS.ul);
    for (const host of ['h1', 'h2'] as const) {
      await run('ip', ['link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', host, 'netns', NS.ul], NS[host]);
      await run('ip', ['link', 'set', host, 'master', 'sw', 'up'], NS.ul);
      await run('ip', ['addr', 'add', `${VTEP[host]}/24`, 'dev', 'ul0'], NS[host]);
      await run('ip', ['link', 'set', 'ul0', 'up'], NS[host]);
      stateDirs[host] = mkdtempSync(join(tmpdir(), `nlt-${host}-`));
      // dnsmasq reads its files as nobody (see dhcp.ts).
      chmodSync(stateDirs[host], 0o755);
    }
    const [s1, s2] = [await apply('h1'), await apply('h2')];
    expect(s1.total).toBeGreaterThan(0);
    expect(s2.total).toBeGreaterThan(0);
    for (const guest of ['g1', 'g2', 'g3'] as const) await configureGuest(guest);
  });

  afterAll(async () => {
    // Like the other suites' NOVALESS_KEEP_TEST_STATE: leaves the namespaces for a look.
    if (process.env.NOVALESS_KEEP_TEST_STATE) return;
    listener?.kill('SIGKILL');
    for (const host of ['h1', 'h2'] as const) {
      if (stateDirs[host]) await teardownHostNetwork({ netns: NS[host], underlay_ip: VTEP[host] }, { runner: execRunner, stateDir: stateDirs[host] }).catch(() => undefined);
    }
    await removeNamespaces('nlt-');
    for (const dir of Object.values(stateDirs)) rmSync(dir, { recursive: true, force: true });
  });

  it('wires guests on two hosts over VXLAN, at the full 1450 MTU, and needs the flood entries for it', async () => {
    expect(await links(NS.h1)).toEqual(expect.arrayContaining([bridgeName(NET), vxlanName(VNI), tapName(cloud.ports.g1!.id), tapName(cloud.ports.g3!.id)]));
    expect(await eventually(() => ping('g1', '10.77.0.12'))).toBe(true);
    // 1400 and 1450-byte IP packets that may not be fragmented.
    expect(await ping('g1', '10.77.0.12', ['-M', 'do', '-s', '1372'])).toBe(true);
    expect(await ping('g1', '10.77.0.12', ['-M', 'do', '-s', '1422'])).toBe(true);

    cloud.flood = false;
    await apply('h1');
    await run('ip', ['neigh', 'flush', 'all'], NS.g1);
    expect(await ping('g1', '10.77.0.12')).toBe(false);
    cloud.flood = true;
    await apply('h1');
    expect(await eventually(() => ping('g1', '10.77.0.12'))).toBe(true);
  });

  it('changes nothing when the same state is applied again', async () => {
    const ruleset = await run('nft', ['list', 'ruleset'], NS.h1);
    const fdb = await run('bridge', ['fdb', 'show', 'dev', vxlanName(VNI)], NS.h1);
    const summary = await apply('h1');
    expect(summary).toMatchObject({ total: 0 });
    expect(await run('nft', ['list', 'ruleset'], NS.h1)).toBe(ruleset);
    expect(await run('bridge', ['fdb', 'show', 'dev', vxlanName(VNI)], NS.h1)).toBe(fdb);
    expect((await apply('h2')).total).toBe(0);
  });

  it('enforces security groups: same-group traffic passes, other groups only by an ingress rule, and not after its removal', async () => {
    listener = spawn('ip', ['netns', 'exec', NS.g2, process.execPath, '-e', "require('net').createServer((s) => s.on('error', () => {}).end('hi')).listen(5000, '0.0.0.0')"], { stdio: 'ignore' });
    expect(await eventually(() => tcpConnects('g1', '10.77.0.12', 5000))).toBe(true);
    expect(await tcpConnects('g3', '10.77.0.12', 5000)).toBe(false);
    expect(await ping('g3', '10.77.0.12')).toBe(false);

    cloud.defaultIngress.push({ id: rule(4), direction: 'ingress', protocol: 'tcp', port_range_min: 5000, port_range_max: 5000, remote_ip_prefix: '0.0.0.0/0' });
    expect((await apply('h2')).security.changed).toBe(1);
    expect(await eventually(() => tcpConnects('g3', '10.77.0.12', 5000))).toBe(true);
    expect(await ping('g3', '10.77.0.12')).toBe(false);

    cloud.defaultIngress.pop();
    expect((await apply('h2')).security.changed).toBe(1);
    expect(await tcpConnects('g3', '10.77.0.12', 5000)).toBe(false);
    expect(await tcpConnects('g1', '10.77.0.12', 5000)).toBe(true);
  });

  it('drops traffic from addresses that are not the port’s, unless an allowed address pair lets them', async () => {
    // The control plane counts 10.77.0.50 as a member of g2's group, so only anti-spoofing can stop it.
    cloud.extraMembers = ['10.77.0.50'];
    await apply('h1');
    await apply('h2');
    await run('ip', ['addr', 'add', '10.77.0.50/24', 'dev', 'eth0'], NS.g1);
    expect(await ping('g1', '10.77.0.12', ['-I', '10.77.0.50'])).toBe(false);

    cloud.ports.g1!.pairs = [{ ip_address: '10.77.0.50' }];
    await apply('h1');
    expect(await eventually(() => ping('g1', '10.77.0.12', ['-I', '10.77.0.50']))).toBe(true);

    cloud.ports.g1!.pairs = [];
    cloud.extraMembers = [];
    await apply('h1');
    await apply('h2');
    await run('ip', ['neigh', 'flush', 'all'], NS.g2);
    expect(await ping('g1', '10.77.0.12', ['-I', '10.77.0.50'])).toBe(false);
    // A changed MAC is stopped too.
    await run('ip', ['link', 'set', 'eth0', 'address', 'fa:16:3e:00:00:99'], NS.g1);
    expect(await ping('g1', '10.77.0.12')).toBe(false);
    await run('ip', ['link', 'set', 'eth0', 'address', cloud.ports.g1!.mac], NS.g1);
    await configureGuest('g1');
    expect(await eventually(() => ping('g1', '10.77.0.12'))).toBe(true);
  });

  it('gives each guest its address and options from its own host’s dnsmasq, restarted when it died', async () => {
    const pidFile = dnsmasqFiles(stateDirs.h2, NET).pidFile;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL');
    await eventually(async () => (await argsOf(pid)) === undefined);
    expect((await apply('h2')).dhcp).toEqual({ added: 1, changed: 0, removed: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'nlt-udhcpc-'));
    try {
      const script = join(dir, 'script');
      writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > "${dir}/$interface-$ip"\nexit 0\n`);
      chmodSync(script, 0o755);
      for (const guest of ['g1', 'g2'] as const) {
        await run('busybox', ['udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '5', '-T', '1', '-O', 'staticroutes', '-s', script], NS[guest]);
        const env = readFileSync(join(dir, `eth0-${cloud.ports[guest]!.ip}`), 'utf8');
        expect(env).toMatch(/^mtu=1450$/m);
        expect(env).toMatch(/^router=10\.77\.0\.1$/m);
        expect(env).toMatch(/^dns=10\.77\.0\.1$/m);
        // The subnet's host routes, the metadata service through this host's DHCP port, then the default route.
        const dhcpIp = DHCP_PORT[cloud.ports[guest]!.host].ip.replace(/\./g, '\\.');
        expect(env).toMatch(new RegExp(`^staticroutes=10\\.99\\.0\\.0/24 10\\.77\\.0\\.1 169\\.254\\.169\\.254/32 ${dhcpIp} 0\\.0\\.0\\.0/0 10\\.77\\.0\\.1$`, 'm'));
        // Each host answers its own guests: DHCP does not cross VXLAN.
        expect(env).toMatch(new RegExp(`^serverid=${DHCP_PORT[cloud.ports[guest]!.host].ip.replace(/\./g, '\\.')}$`, 'm'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('removes a port’s device, rules and DHCP entry, and a network with its last port', async () => {
    const hosts = dnsmasqFiles(stateDirs.h1, NET).hostsFile;
    const pid = readFileSync(dnsmasqFiles(stateDirs.h1, NET).pidFile, 'utf8').trim();
    expect(readFileSync(hosts, 'utf8')).toContain(cloud.ports.g3!.mac);
    const g3 = cloud.ports.g3!;
    delete cloud.ports.g3;
    const summary = await apply('h1');
    expect(summary.l2.removed).toBe(1);
    expect(await links(NS.h1)).not.toContain(tapName(g3.id));
    expect(await run('nft', ['list', 'ruleset'], NS.h1)).not.toContain(g3.id.replace(/-/g, '_'));
    expect(readFileSync(hosts, 'utf8')).not.toContain(g3.mac);
    // New hosts are read on SIGHUP, without a restart.
    expect(readFileSync(dnsmasqFiles(stateDirs.h1, NET).pidFile, 'utf8').trim()).toBe(pid);

    delete cloud.ports.g2;
    await apply('h2');
    await apply('h1');
    const h2Links = await links(NS.h2);
    expect(h2Links).not.toContain(bridgeName(NET));
    expect(h2Links).not.toContain(vxlanName(VNI));
    expect(await namespaces()).not.toContain(dhcpNamespace(NS.h2, NET));
    expect(await run('bridge', ['fdb', 'show', 'dev', vxlanName(VNI)], NS.h1)).not.toContain(VTEP.h2);
  });

  it('tears a host down to nothing', async () => {
    for (const host of ['h1', 'h2'] as const) {
      await teardownHostNetwork({ netns: NS[host], underlay_ip: VTEP[host] }, { runner: execRunner, stateDir: stateDirs[host] });
      expect((await links(NS[host])).filter((l) => /^(brq|vx-|tap|dh)/.test(l))).toEqual([]);
      expect(await run('nft', ['list', 'tables'], NS[host])).not.toContain('novaless');
    }
    expect((await namespaces()).filter((n) => n.startsWith('nlt-') && n.includes('-dhcp-'))).toEqual([]);
    const ours = [bridgeName(NET), vxlanName(VNI), ...Object.values(PORT_IDS).map(tapName)];
    expect((await links('')).filter((l) => l.startsWith('nlt-') || ours.includes(l))).toEqual([]);
    expect((await apply('h1')).total).toBeGreaterThan(0);
    expect((await teardownHostNetwork({ netns: NS.h1, underlay_ip: VTEP.h1 }, { runner: execRunner, stateDir: stateDirs.h1 })).total).toBeGreaterThan(0);
  });
});
