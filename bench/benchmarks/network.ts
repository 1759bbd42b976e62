import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { onPath, qemuInstalled } from '../../host-agent/config.js';
import { execRunner, type CommandRunner } from '../../host-agent/network/command-runner.js';
import { applyHostNetworkState, teardownHostNetwork, type DataPlaneSummary } from '../../host-agent/network/data-plane.js';
import type { HostNetworkStateInput, SecurityGroupRuleStateInput } from '../../host-agent/network/desired-state.js';
import { createTenants, sleep, TINY } from '../client.js';
import { commandLine, guestQemus } from '../guest-processes.js';
import { startCloud, type BenchCloud, type CloudShape } from '../local-cloud.js';
import type { Benchmark, BenchResult } from '../result.js';
import { summarize } from '../stats.js';
import { ensureTestGuest, uploadTestGuest } from '../test-guest.js';

/**
 * Benchmark 7: guest networking. Three parts, each in namespaces it makes itself (nothing touches
 * the machine's own interfaces):
 * 1. overlay cost: TCP throughput and ping latency between guest stand-ins (veth ports) on two
 *    hosts over VXLAN (the real data plane) vs on one host's bridge (the real data plane, no
 *    VXLAN) vs on one plain Linux bridge (no data plane at all), interleaved;
 * 2. floating IP: from the PUT associating it to the first echo reply from the outside world,
 *    with a real QEMU test guest behind a router, on a cloud of bench/local-cloud.ts;
 * 3. programming one host's data plane for 100 ports: from empty, a no-op re-apply, one port added.
 */

const ROUNDS = 5;
const PINGS_PER_ROUND = 50;
const PING_INTERVAL_S = 0.01;
const TCP_SECONDS = 3;
const TCP_PORT = 5201;
const FIP_CYCLES = 5;
const FIP_PING_INTERVAL_S = 0.02;
/** A floating IP counts as gone once this long passed after its last answered echo. */
const FIP_SILENCE_MS = 3000;
const FIP_BOOT_TIMEOUT_MS = 300_000;
const FIP_TIMEOUT_MS = 60_000;
const PROGRAM_PORTS = 100;
const PROGRAM_NETWORKS = 2;
const PROGRAM_COLD_ROUNDS = 3;
const PROGRAM_ROUNDS = 5;

const TOOLS = ['ip', 'bridge', 'nft', 'dnsmasq', 'sysctl', 'ping', 'arping'];
const shape: CloudShape = { hosts: 1, driver: 'qemu' };

export const network: Benchmark = {
  name: 'network',
  unavailable: () => {
    if (process.getuid?.() !== 0) return 'not running as root: network namespaces, bridges, taps and VXLAN need root (sudo npm run bench -- --only network)';
    if (!qemuInstalled()) return 'qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86 qemu-utils genisoimage)';
    const missing = TOOLS.filter((t) => !onPath(t, `${process.env.PATH}:/usr/sbin:/sbin`));
    return missing.length ? `missing ${missing.join(', ')} (Debian: iproute2 nftables dnsmasq-base procps iputils-ping iputils-arping)` : undefined;
  },
  async run(): Promise<BenchResult> {
    const started = Date.now();
    const problems: string[] = [];
    const prefix = `nlbench${randomBytes(2).toString('hex')}`;
    const cleanupOnExit = () => removeNamespacesSync(prefix);
    process.once('exit', cleanupOnExit);
    let overlay: Awaited<ReturnType<typeof overlayCost>> | undefined;
    let programming: Awaited<ReturnType<typeof programHost>> | undefined;
    let fip: Awaited<ReturnType<typeof floatingIpCycles>> | undefined;
    try {
      overlay = await part('overlay cost', problems, () => overlayCost(prefix, problems));
      programming = await part('programming 100 ports', problems, () => programHost(prefix, problems));
    } finally {
      removeNamespacesSync(prefix);
      process.removeListener('exit', cleanupOnExit);
    }
    fip = await part('floating IP', problems, () => floatingIpCycles(problems));

    const summary: string[] = [];
    if (overlay) {
      const o = overlay.summary;
      summary.push(
        `TCP throughput, medians of ${ROUNDS} × ${TCP_SECONDS} s: VXLAN between 2 hosts ${gbit(o.vxlan.tcp)}, one host's data-plane bridge ${gbit(o.same_host.tcp)}, plain bridge ${gbit(o.plain.tcp)}; overlay/plain ×${o.ratios.tcp_vxlan_vs_plain}`,
        `ping RTT, medians of ${ROUNDS * PINGS_PER_ROUND}: VXLAN ${usec(o.vxlan.rtt)}, one host's bridge ${usec(o.same_host.rtt)}, plain bridge ${usec(o.plain.rtt)}; overlay/plain ×${o.ratios.rtt_vxlan_vs_plain}`,
      );
    }
    if (fip) {
      summary.push(
        `floating IP (QEMU ${fip.virt_type} guest behind a router): PUT → first echo reply in the outside world, median of ${fip.cycles.length}: ${fip.associate_ms.p50} ms (${fip.associate_ms.min}..${fip.associate_ms.max}); PUT port_id=null → last reply ${fip.disassociate_ms.p50} ms`,
      );
    }
    if (programming) {
      const p = programming.summary;
      summary.push(
        `data plane for ${PROGRAM_PORTS} ports on one host: from empty ${p.cold_ms} ms (${p.cold_commands} commands), re-apply unchanged ${p.noop_ms} ms (${p.noop_commands} commands), one port added ${p.add_one_ms} ms, one removed ${p.remove_one_ms} ms (medians)`,
      );
    }
    return {
      name: 'network',
      title: '7. guest networking: overlay cost, floating IP reachability, programming a host with 100 ports',
      cloud: { ...shape, boot_seconds: fip?.cloud_boot_seconds ?? 0 },
      method: [
        'overlay cost (no QEMU: TCG guests would measure the emulator, not the network): guest stand-ins are namespaces whose eth0 is a veth (MTU 1450, as a tenant network) plugged where the guest tap would be; three pairs, all built at once and measured interleaved, the order rotated each round:',
        '  vxlan: one stand-in on each of two simulated hosts (namespaces on a data-centre switch via veth, MTU 1500), wired by the real data plane (applyHostNetworkState with guestStandIns): bridge, VXLAN with l2population FDB, nftables anti-spoofing and the default-like security group (ingress from its own group, egress all), conntrack',
        "  same_host: both stand-ins on one of those hosts' bridges, same data plane, same network and rules: the data plane without the overlay",
        '  plain: both stand-ins on one plain Linux bridge in a namespace of its own, no nftables, br_netfilter off: the bare path',
        `  per round and pair: ${PINGS_PER_ROUND} pings at ${PING_INTERVAL_S * 1000} ms intervals (iputils ping, each reply's time= is a sample; one unmeasured ping first), then ${TCP_SECONDS} s of one TCP stream (a node sink and a node source writing 1 MiB buffers, run in the stand-ins; Gbit/s = bytes received / time from first byte to FIN at the sink); ratios are the medians divided (vxlan / plain; also vxlan / same_host and same_host / plain)`,
        `floating IP: npm start's cloud from bench/local-cloud.ts (--driver qemu --hosts 1, as root: host-1 in its namespace, the outside world at 203.0.113.1); the test guest (test/guest/) booted on a tenant network (10.20.0.0/24) behind a router with its gateway on public, ICMP allowed in the default group; one floating IP. Each cycle: the outside world's neighbour cache flushed, \`ping -D -O -i ${FIP_PING_INTERVAL_S}\` started in it, PUT /networking/v2.0/floatingips/{id} {port_id} (what \`openstack server add floating ip\` sends, without the CLI's start-up), time to the first echo reply (ping's -D timestamp − the time the PUT was sent); then PUT {port_id: null}, time to the last reply (once ${FIP_SILENCE_MS / 1000} s passed without one). One warm-up cycle first (the guest is still booting), then ${FIP_CYCLES} measured cycles with the same guest`,
        `programming: one simulated host (a namespace with a veth as its tunnel interface), real data plane, real persistent taps (no QEMU): ${PROGRAM_NETWORKS} networks with DHCP (dnsmasq and the metadata proxy in a namespace each), flood entries to 2 peer hosts and 10 remote ports per network, ${PROGRAM_PORTS} ports split over the networks, one default-like security group (Neutron's 4 default rules: ingress from the group itself, egress all, IPv4 and IPv6) with all ports and the remote ones as members; no router. cold: from empty (torn down, untimed) to ${PROGRAM_PORTS} ports, ${PROGRAM_COLD_ROUNDS} times; noop: the same state again, ${PROGRAM_ROUNDS} times; add_one / remove_one: ${PROGRAM_ROUNDS} × (the state with port ${PROGRAM_PORTS + 1}, then without it). Commands = programs the data plane ran (ip, bridge, nft, sysctl, dnsmasq, ...)`,
      ],
      metrics: { overlay: overlay?.metrics ?? null, floating_ip: fip ?? null, programming: programming?.metrics ?? null },
      summary,
      problems,
      seconds: (Date.now() - started) / 1000,
    };
  },
};

/** Runs one part; a failure becomes a problem and the other parts still run. */
async function part<T>(what: string, problems: string[], measure: () => Promise<T>): Promise<T | undefined> {
  try {
    return await measure();
  } catch (err) {
    problems.push(`${what} not measured: ${(err as Error).stack ?? err}`);
    return undefined;
  }
}

const gbit = (v: number) => `${v.toFixed(2)} Gbit/s`;
const usec = (msValue: number) => `${Math.round(msValue * 1000)} µs`;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const run = (program: string, args: string[], netns?: string, timeoutMs?: number) => execRunner.run(program, args, { netns, timeoutMs });

async function makeNamespace(ns: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], ns);
}

/** A bridge that filters nothing: br_netfilter's hooks off in its namespace. */
async function makePlainBridge(ns: string, name: string, mtu?: number): Promise<void> {
  await run('sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0'], ns).catch(() => undefined);
  await run('ip', ['-n', ns, 'link', 'add', name, ...(mtu ? ['mtu', String(mtu)] : []), 'type', 'bridge']);
  await run('ip', ['-n', ns, 'link', 'set', name, 'up']);
}

/** Deletes every namespace named `<prefix>-*`, killing what runs inside first (deleting a namespace does not end its processes). */
function removeNamespacesSync(prefix: string): void {
  let list: { name: string }[] = [];
  try {
    list = JSON.parse(execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }) || '[]');
  } catch {
    return;
  }
  const ours = list.map((n) => n.name).filter((n) => n.startsWith(`${prefix}-`));
  for (const ns of ours) {
    let pids: string[] = [];
    try {
      pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
    } catch {
      // gone
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  for (const ns of ours) {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      // gone
    }
  }
}

async function eventually(check: () => Promise<boolean>, ms: number, every = 100): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(every);
  }
  return false;
}

const pingOnce = (from: string, to: string) => run('ping', ['-n', '-c1', '-W1', to], from).then(() => true, () => false);

// ---------------------------------------------------------------------------------------------
// 1. Overlay cost

/** The TCP sink: one connection, then prints {bytes, ms} (first byte to FIN) and exits. */
const SINK = `const net=require('net');const s=net.createServer((c)=>{let n=0,t0=0n;c.on('data',(d)=>{if(!t0)t0=process.hrtime.bigint();n+=d.length;});c.on('end',()=>{const ms=Number(process.hrtime.bigint()-t0)/1e6;process.stdout.write(JSON.stringify({bytes:n,ms})+'\\n');c.end();s.close();});c.on('error',(e)=>{console.error(e.message);process.exit(1);});});s.listen(Number(process.argv[1]),()=>process.stdout.write('ready\\n'));`;
/** The TCP source: writes 1 MiB buffers to host:port for the given ms, then closes. */
const SOURCE = `const net=require('net');const [h,p,d]=process.argv.slice(1);const buf=Buffer.alloc(1<<20,97);const c=net.connect(Number(p),h,()=>{const end=Date.now()+Number(d);const pump=()=>{while(Date.now()<end){if(!c.write(buf))return void c.once('drain',pump);}c.end();};pump();});c.on('error',(e)=>{console.error(e.message);process.exit(1);});c.on('close',()=>process.exit(0));`;

interface Pair {
  name: 'vxlan' | 'same_host' | 'plain';
  from: string;
  to: string;
  toIp: string;
}

async function tcpSample(pair: Pair): Promise<number> {
  const sink = spawn('ip', ['netns', 'exec', pair.to, process.execPath, '-e', SINK, String(TCP_PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const lines = lineReader(sink);
    if ((await lines.next(10_000)) !== 'ready') throw new Error(`the TCP sink in ${pair.to} did not start`);
    await run(process.execPath, ['-e', SOURCE, pair.toIp, String(TCP_PORT), String(TCP_SECONDS * 1000)], pair.from, (TCP_SECONDS + 20) * 1000);
    const result = JSON.parse((await lines.next(10_000)) ?? 'null') as { bytes: number; ms: number } | null;
    if (!result || result.ms <= 0) throw new Error(`no result from the TCP sink in ${pair.to}`);
    return (result.bytes * 8) / (result.ms / 1000) / 1e9;
  } finally {
    sink.kill('SIGKILL');
  }
}

/** Reads a child's stdout line by line; next() waits up to ms for the next line (undefined on timeout or exit). */
function lineReader(child: ChildProcess) {
  const queue: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  let buffered = '';
  let ended = false;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else queue.push(line);
    }
  });
  child.stdout!.on('end', () => {
    ended = true;
    for (const w of waiters.splice(0)) w(undefined);
  });
  return {
    next(ms: number): Promise<string | undefined> {
      if (queue.length) return Promise.resolve(queue.shift());
      if (ended) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          resolve(undefined);
        }, ms);
        const done = (line: string | undefined) => {
          clearTimeout(timer);
          resolve(line);
        };
        waiters.push(done);
      });
    },
  };
}

/** Round-trip times (ms) of PINGS_PER_ROUND echo requests, one unmeasured first. */
async function pingSample(pair: Pair): Promise<number[]> {
  await pingOnce(pair.from, pair.toIp);
  const out = await run('ping', ['-n', '-c', String(PINGS_PER_ROUND), '-i', String(PING_INTERVAL_S), '-W', '1', pair.toIp], pair.from, 30_000);
  return [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

export async function overlayCost(prefix: string, problems: string[]) {
  const ns = {
    ul: `${prefix}-ul`,
    h1: `${prefix}-h1`,
    h2: `${prefix}-h2`,
    br: `${prefix}-br`,
    va1: `${prefix}-va1`,
    va2: `${prefix}-va2`,
    sa1: `${prefix}-sa1`,
    sa2: `${prefix}-sa2`,
    pa1: `${prefix}-pa1`,
    pa2: `${prefix}-pa2`,
  };
  for (const n of Object.values(ns)) await makeNamespace(n);
  // The data-centre switch (as infra/local/network-topology.ts) and the two hosts' tunnel interfaces on it.
  await makePlainBridge(ns.ul, 'sw');
  const vtep = { h1: '192.168.201.1', h2: '192.168.201.2' };
  for (const host of ['h1', 'h2'] as const) {
    await run('ip', ['-n', ns[host], 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', host, 'netns', ns.ul]);
    await run('ip', ['-n', ns.ul, 'link', 'set', host, 'master', 'sw', 'up']);
    await run('ip', ['-n', ns[host], 'addr', 'add', `${vtep[host]}/24`, 'dev', 'ul0']);
    await run('ip', ['-n', ns[host], 'link', 'set', 'ul0', 'up']);
  }

  const NET = 'b7000000-0000-4000-8000-000000000001';
  const SUBNET = 'b7100000-0000-4000-8000-000000000001';
  const SG = 'b7200000-0000-4000-8000-000000000001';
  const ports = [
    { id: 'b7a00001-0000-4000-8000-000000000001', host: 'h1', standIn: ns.va1, mac: 'fa:16:3e:b7:00:01', ip: '10.88.0.11' },
    { id: 'b7a00002-0000-4000-8000-000000000002', host: 'h2', standIn: ns.va2, mac: 'fa:16:3e:b7:00:02', ip: '10.88.0.12' },
    { id: 'b7a00003-0000-4000-8000-000000000003', host: 'h1', standIn: ns.sa1, mac: 'fa:16:3e:b7:00:03', ip: '10.88.0.21' },
    { id: 'b7a00004-0000-4000-8000-000000000004', host: 'h1', standIn: ns.sa2, mac: 'fa:16:3e:b7:00:04', ip: '10.88.0.22' },
  ] as const;
  const stateFor = (host: 'h1' | 'h2'): HostNetworkStateInput => {
    const remote = ports.filter((p) => p.host !== host);
    return {
      netns: ns[host],
      underlay_ip: vtep[host],
      underlay_dev: 'ul0',
      networks: [
        {
          id: NET,
          vni: 4242,
          mtu: 1450,
          subnets: [{ id: SUBNET, cidr: '10.88.0.0/24', gateway_ip: '10.88.0.1', enable_dhcp: false }],
          flood: [...new Set(remote.map((p) => vtep[p.host]))],
          remote_ports: remote.map((p) => ({ mac_address: p.mac, ip_address: p.ip, vtep: vtep[p.host] })),
        },
      ],
      ports: ports
        .filter((p) => p.host === host)
        .map((p) => ({ id: p.id, network_id: NET, mac_address: p.mac, fixed_ips: [{ subnet_id: SUBNET, ip_address: p.ip }], security_group_ids: [SG] })),
      security_groups: [{ id: SG, rules: defaultRules(SG, 'b3'), member_ips: ports.map((p) => p.ip) }],
    };
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'novaless-bench-net-'));
  chmodSync(stateDir, 0o755);
  const standIns = Object.fromEntries(ports.map((p) => [p.id, p.standIn]));
  try {
    for (const host of ['h1', 'h2'] as const) await applyHostNetworkState(stateFor(host), { runner: execRunner, stateDir: join(stateDir, host), guestStandIns: standIns });
    for (const p of ports) {
      await run('ip', ['-n', p.standIn, 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0']);
      await run('ip', ['-n', p.standIn, 'link', 'set', 'eth0', 'up']);
    }
    // The plain pair: same MTU, same kind of port, one bridge and nothing else.
    await makePlainBridge(ns.br, 'br0', 1450);
    const plain = [
      { standIn: ns.pa1, port: 'pa1', mac: 'fa:16:3e:b7:00:05', ip: '10.88.0.31' },
      { standIn: ns.pa2, port: 'pa2', mac: 'fa:16:3e:b7:00:06', ip: '10.88.0.32' },
    ];
    for (const p of plain) {
      await run('ip', ['-n', ns.br, 'link', 'add', p.port, 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'eth0', 'address', p.mac, 'mtu', '1450', 'netns', p.standIn]);
      await run('ip', ['-n', ns.br, 'link', 'set', p.port, 'master', 'br0', 'up']);
      await run('ip', ['-n', p.standIn, 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0']);
      await run('ip', ['-n', p.standIn, 'link', 'set', 'eth0', 'up']);
    }

    const pairs: Pair[] = [
      { name: 'vxlan', from: ns.va1, to: ns.va2, toIp: ports[1].ip },
      { name: 'same_host', from: ns.sa1, to: ns.sa2, toIp: ports[3].ip },
      { name: 'plain', from: ns.pa1, to: ns.pa2, toIp: plain[1].ip },
    ];
    for (const pair of pairs) {
      if (!(await eventually(() => pingOnce(pair.from, pair.toIp), 15_000))) throw new Error(`${pair.name}: ${pair.from} cannot ping ${pair.toIp}`);
    }

    const rtts: Record<Pair['name'], number[][]> = { vxlan: [], same_host: [], plain: [] };
    const tcp: Record<Pair['name'], number[]> = { vxlan: [], same_host: [], plain: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < pairs.length; k++) {
        const pair = pairs[(round + k) % pairs.length];
        const sample = await pingSample(pair);
        if (sample.length < PINGS_PER_ROUND) problems.push(`${pair.name} round ${round + 1}: ${PINGS_PER_ROUND - sample.length} of ${PINGS_PER_ROUND} pings unanswered`);
        rtts[pair.name].push(sample);
        tcp[pair.name].push(await tcpSample(pair));
      }
    }

    const figures = (name: Pair['name']) => ({ tcp: median(tcp[name]), rtt: median(rtts[name].flat()) });
    const s = { vxlan: figures('vxlan'), same_host: figures('same_host'), plain: figures('plain') };
    const ratios = {
      tcp_vxlan_vs_plain: ratio(s.vxlan.tcp, s.plain.tcp),
      rtt_vxlan_vs_plain: ratio(s.vxlan.rtt, s.plain.rtt),
      tcp_vxlan_vs_same_host: ratio(s.vxlan.tcp, s.same_host.tcp),
      rtt_vxlan_vs_same_host: ratio(s.vxlan.rtt, s.same_host.rtt),
      tcp_same_host_vs_plain: ratio(s.same_host.tcp, s.plain.tcp),
      rtt_same_host_vs_plain: ratio(s.same_host.rtt, s.plain.rtt),
    };
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    const detail = (name: Pair['name']) => ({
      tcp_gbit_s: { median: r3(s[name].tcp), samples: tcp[name].map(r3) },
      rtt_ms: { median: r3(s[name].rtt), p95: r3(summaryOf(rtts[name].flat()).p95), per_round_median: rtts[name].map((r) => r3(median(r))), samples: rtts[name] },
    });
    return {
      summary: { ...s, ratios },
      metrics: {
        what: 'guest stand-ins (veth ports in namespaces), not QEMU guests: vxlan = two hosts over VXLAN with the real data plane; same_host = one host bridge with the real data plane; plain = one plain Linux bridge',
        mtu: 1450,
        rounds: ROUNDS,
        ratios,
        vxlan: detail('vxlan'),
        same_host: detail('same_host'),
        plain: detail('plain'),
      },
    };
  } finally {
    for (const host of ['h1', 'h2'] as const) {
      await teardownHostNetwork({ netns: ns[host], underlay_ip: vtep[host] }, { runner: execRunner, stateDir: join(stateDir, host) }).catch(() => undefined);
    }
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const summaryOf = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p95: sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)] };
};

/** Neutron's default group: ingress from the group itself and egress anywhere, IPv4 and IPv6 (the data plane filters IPv4). `tag`: 2 hex digits for the rule ids. */
function defaultRules(group: string, tag: string): SecurityGroupRuleStateInput[] {
  const id = (n: number) => `${tag}00000${n}-0000-4000-8000-000000000000`;
  return [
    { id: id(1), direction: 'ingress', ethertype: 'IPv4', remote_group_id: group },
    { id: id(2), direction: 'ingress', ethertype: 'IPv6', remote_group_id: group },
    { id: id(3), direction: 'egress', ethertype: 'IPv4' },
    { id: id(4), direction: 'egress', ethertype: 'IPv6' },
  ];
}

// ---------------------------------------------------------------------------------------------
// 3. Programming one host's data plane

export async function programHost(prefix: string, problems: string[]) {
  const netns = `${prefix}-d1`;
  await makeNamespace(netns);
  // The tunnel interface: a veth with its peer left in the namespace (no peer host answers; nothing is sent in this part).
  await run('ip', ['-n', netns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0p']);
  await run('ip', ['-n', netns, 'addr', 'add', '192.168.202.1/24', 'dev', 'ul0']);
  await run('ip', ['-n', netns, 'link', 'set', 'ul0p', 'up']);
  await run('ip', ['-n', netns, 'link', 'set', 'ul0', 'up']);
  const SG = 'c2000000-0000-4000-8000-000000000001';
  const peers = ['192.168.202.2', '192.168.202.3'];
  const networks = Array.from({ length: PROGRAM_NETWORKS }, (_, k) => ({
    id: `c${k + 1}000000-0000-4000-8000-000000000001`,
    subnet: `c${k + 1}100000-0000-4000-8000-000000000001`,
    vni: 6001 + k,
    base: `10.${61 + k}.0`,
  }));
  const portOf = (n: number) => {
    const net = networks[n % PROGRAM_NETWORKS];
    const hex = n.toString(16).padStart(4, '0');
    return {
      id: `d000${hex}-0000-4000-8000-000000000000`,
      network_id: net.id,
      mac_address: `fa:16:3e:d0:${hex.slice(0, 2)}:${hex.slice(2)}`,
      fixed_ips: [{ subnet_id: net.subnet, ip_address: `${net.base}.${10 + Math.floor(n / PROGRAM_NETWORKS)}` }],
      security_group_ids: [SG],
    };
  };
  const remotes = networks.map((net, k) =>
    Array.from({ length: 10 }, (_, i) => ({ mac_address: `fa:16:3e:e${k}:00:${(i + 1).toString(16).padStart(2, '0')}`, ip_address: `${net.base}.${200 + i}`, vtep: peers[i % 2] })),
  );
  const stateWith = (count: number): HostNetworkStateInput => {
    const ports = Array.from({ length: count }, (_, n) => portOf(n));
    return {
      netns,
      underlay_ip: '192.168.202.1',
      underlay_dev: 'ul0',
      networks: networks.map((net, k) => ({
        id: net.id,
        vni: net.vni,
        mtu: 1450,
        subnets: [{ id: net.subnet, cidr: `${net.base}.0/24`, gateway_ip: `${net.base}.1`, enable_dhcp: true, dns_nameservers: [`${net.base}.1`] }],
        dhcp: { mac_address: `fa:16:3e:dd:00:0${k + 1}`, fixed_ips: [{ subnet_id: net.subnet, ip_address: `${net.base}.2` }] },
        flood: peers,
        remote_ports: remotes[k],
      })),
      ports,
      security_groups: [{ id: SG, rules: defaultRules(SG, 'c3'), member_ips: [...ports.map((p) => p.fixed_ips[0].ip_address), ...remotes.flat().map((r) => r.ip_address)] }],
    };
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'novaless-bench-dp-'));
  chmodSync(stateDir, 0o755);
  let commands = 0;
  const runner: CommandRunner = {
    run(program, args, options) {
      commands++;
      return execRunner.run(program, args, options);
    },
  };
  const timed = async (count: number) => {
    commands = 0;
    const t0 = performance.now();
    const summary = await applyHostNetworkState(stateWith(count), { runner, stateDir });
    return { ms: performance.now() - t0, commands, summary };
  };
  const teardown = () => teardownHostNetwork({ netns, underlay_ip: '192.168.202.1' }, { runner: execRunner, stateDir });
  type Sample = { ms: number; commands: number; changes: number };
  const sample = (s: { ms: number; commands: number; summary: DataPlaneSummary }): Sample => ({ ms: Math.round(s.ms * 10) / 10, commands: s.commands, changes: s.summary.total });
  try {
    const cold: Sample[] = [];
    for (let k = 0; k < PROGRAM_COLD_ROUNDS; k++) {
      await teardown();
      cold.push(sample(await timed(PROGRAM_PORTS)));
    }
    const links = JSON.parse(await run('ip', ['-n', netns, '-j', 'link', 'show'])) as { ifname: string }[];
    const taps = links.filter((l) => /^tap/.test(l.ifname)).length;
    if (taps !== PROGRAM_PORTS) problems.push(`programming: ${taps} taps after applying ${PROGRAM_PORTS} ports`);
    const noop: Sample[] = [];
    for (let k = 0; k < PROGRAM_ROUNDS; k++) noop.push(sample(await timed(PROGRAM_PORTS)));
    for (const s of noop) if (s.changes !== 0) problems.push(`programming: re-applying the same state made ${s.changes} changes`);
    const addOne: Sample[] = [];
    const removeOne: Sample[] = [];
    for (let k = 0; k < PROGRAM_ROUNDS; k++) {
      addOne.push(sample(await timed(PROGRAM_PORTS + 1)));
      removeOne.push(sample(await timed(PROGRAM_PORTS)));
    }
    const m = (xs: Sample[]) => ({ median_ms: Math.round(median(xs.map((x) => x.ms))), median_commands: median(xs.map((x) => x.commands)), samples: xs });
    const metrics = {
      ports: PROGRAM_PORTS,
      networks: PROGRAM_NETWORKS,
      cold: m(cold),
      noop: m(noop),
      add_one: m(addOne),
      remove_one: m(removeOne),
    };
    return {
      metrics,
      summary: {
        cold_ms: metrics.cold.median_ms,
        cold_commands: metrics.cold.median_commands,
        noop_ms: metrics.noop.median_ms,
        noop_commands: metrics.noop.median_commands,
        add_one_ms: metrics.add_one.median_ms,
        remove_one_ms: metrics.remove_one.median_ms,
      },
    };
  } finally {
    await teardown().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Floating IP: association to the first answer from the outside world

interface PingWatch {
  child: ChildProcess;
  /** Wall-clock ms (ping's -D timestamps) of each echo reply, and of the last line of any kind. */
  replies: number[];
  lastLine: number;
}

function watchPings(externalNetns: string, address: string): PingWatch {
  const child = spawn('ip', ['netns', 'exec', externalNetns, 'ping', '-D', '-O', '-n', '-i', String(FIP_PING_INTERVAL_S), '-W', '1', address], { stdio: ['ignore', 'pipe', 'ignore'] });
  const watch: PingWatch = { child, replies: [], lastLine: 0 };
  let buffered = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const stamp = /^\[(\d+\.\d+)\]/.exec(line);
      if (!stamp) continue;
      const at = Number(stamp[1]) * 1000;
      watch.lastLine = Math.max(watch.lastLine, at);
      if (/bytes from/.test(line)) watch.replies.push(at);
    }
  });
  return watch;
}

export async function floatingIpCycles(problems: string[]) {
  const guestImage = await ensureTestGuest();
  const cloud = await startCloud(shape);
  try {
    const externalNetns = cloud.info.externalNetns;
    if (!externalNetns) throw new Error(`the cloud has no outside-world namespace (see ${cloud.logFile})`);
    return await measureFloatingIp(cloud, externalNetns, guestImage, problems);
  } finally {
    await cloud.stop();
  }
}

async function measureFloatingIp(cloud: BenchCloud, externalNetns: string, guestImage: string, problems: string[]) {
  const { client, adminToken } = cloud;
  const imageId = await uploadTestGuest(cloud, guestImage, 'bench-net-guest');
  const [tenant] = await createTenants(client, adminToken, 'bench-net', 1);
  const token = tenant.token;
  const api = (status: number, method: string, path: string, body?: unknown) => client.expect(status, method, `/networking/v2.0${path}`, { token, body });
  const publicNet = (await api(200, 'GET', '/networks?name=public')).body.networks[0];
  if (!publicNet) throw new Error('no network named public');
  const net = (await api(201, 'POST', '/networks', { network: { name: 'bench-net' } })).body.network;
  const subnet = (await api(201, 'POST', '/subnets', { subnet: { name: 'bench-sub', network_id: net.id, cidr: '10.20.0.0/24', ip_version: 4 } })).body.subnet;
  const router = (await api(201, 'POST', '/routers', { router: { name: 'bench-router', external_gateway_info: { network_id: publicNet.id } } })).body.router;
  await api(200, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
  const group = (await api(200, 'GET', '/security-groups?name=default')).body.security_groups[0];
  await api(201, 'POST', '/security-group-rules', { security_group_rule: { security_group_id: group.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' } });

  const created = await client.expect(202, 'POST', '/compute/v2.1/servers', {
    token,
    body: { server: { name: 'bench-net-vm', imageRef: imageId, flavorRef: TINY.id, networks: [{ uuid: net.id }] } },
  });
  const serverId: string = created.body.server.id;
  let server: { status: string; fault?: { message: string } } = { status: 'BUILD' };
  for (const deadline = Date.now() + FIP_BOOT_TIMEOUT_MS; server.status === 'BUILD' && Date.now() < deadline; await sleep(250)) {
    server = (await client.expect(200, 'GET', `/compute/v2.1/servers/${serverId}`, { token })).body.server;
  }
  if (server.status !== 'ACTIVE') throw new Error(`server ${serverId} ended ${server.status}${server.fault ? `: ${server.fault.message}` : ''} (NOVALESS_KEEP_BENCH_STATE=1 keeps ${cloud.stateDir}/logs/host-1.log)`);
  const port = (await api(200, 'GET', `/ports?device_id=${serverId}`)).body.ports[0];
  if (!port) throw new Error(`server ${serverId} has no port`);
  const fip = (await api(201, 'POST', '/floatingips', { floatingip: { floating_network_id: publicNet.id } })).body.floatingip;
  const address: string = fip.floating_ip_address;

  /** One cycle: associate, first reply; disassociate, last reply. ms from each PUT being sent. */
  const cycle = async (replyTimeoutMs: number) => {
    await run('ip', ['-n', externalNetns, 'neigh', 'flush', 'all']);
    const watch = watchPings(externalNetns, address);
    try {
      await sleep(300);
      if (watch.replies.length > 0) throw new Error(`${address} answered before it was associated`);
      const t0 = Date.now();
      const put = await api(200, 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: port.id } });
      const answered = await eventually(async () => watch.replies.some((t) => t >= t0), replyTimeoutMs, 20);
      const firstReply = watch.replies.find((t) => t >= t0);
      if (!answered || firstReply === undefined) return { associate_ms: null, put_ms: put.ms, disassociate_ms: null };
      await sleep(500);
      const t1 = Date.now();
      await api(200, 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } });
      const lastReply = () => watch.replies[watch.replies.length - 1];
      const silent = await eventually(async () => watch.lastLine - Math.max(lastReply(), t1) >= FIP_SILENCE_MS, FIP_TIMEOUT_MS, 100);
      return { associate_ms: firstReply - t0, put_ms: put.ms, disassociate_ms: silent ? Math.max(0, lastReply() - t1) : null };
    } finally {
      watch.child.kill('SIGINT');
    }
  };

  const warmup = await cycle(FIP_BOOT_TIMEOUT_MS);
  const qemu = guestQemus(serverId)[0];
  const cmd = qemu ? commandLine(qemu.pid) : [];
  const virtType = cmd[cmd.indexOf('-accel') + 1] === 'kvm' ? 'KVM' : 'TCG';
  if (warmup.associate_ms === null) throw new Error(`the guest never answered on ${address} (see ${cloud.stateDir}/logs/host-1.log)`);
  const cycles = [];
  for (let k = 0; k < FIP_CYCLES; k++) {
    const c = await cycle(FIP_TIMEOUT_MS);
    if (c.associate_ms === null) problems.push(`floating IP cycle ${k + 1}: no answer within ${FIP_TIMEOUT_MS / 1000} s of the association`);
    if (c.associate_ms !== null && c.disassociate_ms === null) problems.push(`floating IP cycle ${k + 1}: ${address} still answered ${FIP_TIMEOUT_MS / 1000} s after the disassociation`);
    cycles.push(c);
  }
  const round = (x: number | null) => (x === null ? null : Math.round(x));
  const ok = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
  return {
    cloud_boot_seconds: cloud.bootSeconds,
    virt_type: virtType,
    floating_ip: address,
    ping_interval_ms: FIP_PING_INTERVAL_S * 1000,
    associate_ms: summarize(ok(cycles.map((c) => c.associate_ms))),
    disassociate_ms: summarize(ok(cycles.map((c) => c.disassociate_ms))),
    put_ms: summarize(cycles.map((c) => c.put_ms)),
    warmup: { associate_ms: round(warmup.associate_ms), disassociate_ms: round(warmup.disassociate_ms) },
    cycles: cycles.map((c) => ({ associate_ms: round(c.associate_ms), put_ms: round(c.put_ms), disassociate_ms: round(c.disassociate_ms) })),
  };
}
