import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPath } from '../../host-agent/config.js';
import { METADATA_ADDRESS, metadataSocketPath, proxyFiles } from '../../host-agent/metadata/metadata-proxy.js';
import { startMetadataServer, type MetadataServer } from '../../host-agent/metadata/metadata-server.js';
import { execRunner } from '../../host-agent/network/command-runner.js';
import { applyHostNetworkState, teardownHostNetwork, type DataPlaneSummary } from '../../host-agent/network/data-plane.js';
import { HostNetworkStateSchema, type HostNetworkState } from '../../host-agent/network/desired-state.js';
import { dnsmasqFiles } from '../../host-agent/network/dnsmasq-config.js';
import { dhcpNamespace } from '../../host-agent/network/names.js';
import { argsOf } from '../../host-agent/network/processes.js';
import type { GuestSpec } from '../../shared/messages/host.js';
import { guestSpec } from '../unit/host-agent/support.js';
import { namespaceNames as namespaces, removeNamespaces } from '../../infra/local/network-topology.js';

/**
 * Nova's metadata service end to end on real kernel objects: one simulated host (nlm-h1) with a
 * network and DHCP, two guest stand-ins (nlm-g1, nlm-g2: veths in namespaces, see l2.ts
 * guestStandIns) for two instances. Each guest gets its address and the 169.254.169.254 route
 * by DHCP, then asks the metadata service through the DHCP namespace's proxy, which forwards to
 * the metadata server this test runs on the data plane's unix socket.
 */

const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
const missing = ['ip', 'bridge', 'nft', 'dnsmasq', 'sysctl', 'busybox', 'curl'].filter((tool) => !onPath(tool, PATH));
const skipReason = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : missing.length ? `missing ${missing.join(', ')}` : '';

const NS = { h1: 'nlm-h1', g1: 'nlm-g1', g2: 'nlm-g2' } as const;
type Guest = 'g1' | 'g2';
const NET = '1f000000-0000-4000-8000-000000000001';
const SUBNET = '5c000000-0000-4000-8000-000000000001';
const SG = '9f000000-0000-4000-8000-000000000001';
const PORTS: Record<Guest, { id: string; mac: string; ip: string }> = {
  g1: { id: 'b1000000-0000-4000-8000-000000000001', mac: 'fa:16:3e:00:01:01', ip: '10.78.0.11' },
  g2: { id: 'b2000000-0000-4000-8000-000000000002', mac: 'fa:16:3e:00:01:02', ip: '10.78.0.12' },
};
const DHCP_IP = '10.78.0.2';
const specs: Record<Guest, GuestSpec> = {
  g1: guestSpec({ instance_id: randomUUID(), name: 'meta-one', hostname: 'meta-one' }),
  g2: guestSpec({ instance_id: randomUUID(), name: 'meta-two', hostname: 'meta-two' }),
};

const state: HostNetworkState = HostNetworkStateSchema.parse({
  netns: NS.h1,
  underlay_ip: '192.168.78.1',
  networks: [
    {
      id: NET,
      vni: 1078,
      subnets: [{ id: SUBNET, cidr: '10.78.0.0/24', gateway_ip: '10.78.0.1', enable_dhcp: true }],
      dhcp: { mac_address: 'fa:16:3e:00:d2:01', fixed_ips: [{ subnet_id: SUBNET, ip_address: DHCP_IP }] },
    },
  ],
  ports: (['g1', 'g2'] as const).map((g) => ({ id: PORTS[g].id, network_id: NET, mac_address: PORTS[g].mac, fixed_ips: [{ subnet_id: SUBNET, ip_address: PORTS[g].ip }], security_group_ids: [SG] })),
  // Guests may send anywhere and receive nothing they did not ask for: only conntrack lets answers in.
  security_groups: [{ id: SG, rules: [{ id: randomUUID(), direction: 'egress' }] }],
  devices: (['g1', 'g2'] as const).map((g) => ({ port_id: PORTS[g].id, instance_id: specs[g].instance_id })),
});

let stateDir: string;
let server: MetadataServer | undefined;
const logs: string[] = [];
const standIns = { [PORTS.g1.id]: NS.g1, [PORTS.g2.id]: NS.g2 };
const apply = (): Promise<DataPlaneSummary> => applyHostNetworkState(state, { runner: execRunner, stateDir, guestStandIns: standIns, log: (m) => logs.push(m) });
const run = (program: string, args: string[], netns?: string) => execRunner.run(program, args, { netns });

/** `curl` from a guest namespace; undefined when nothing came back in time. */
async function fetchFrom(guest: Guest, path: string, extra: string[] = []): Promise<string | undefined> {
  try {
    return await run('curl', ['-sf', '--max-time', '2', ...extra, `http://${METADATA_ADDRESS}${path}`], NS[guest]);
  } catch {
    return undefined;
  }
}

async function eventually<T>(check: () => Promise<T | undefined>, ms = 8_000): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(200);
  }
}

describe.skipIf(Boolean(skipReason))(`metadata service on namespaces${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let scriptDir: string;

  beforeAll(async () => {
    await removeNamespaces('nlm-');
    for (const ns of Object.values(NS)) {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['link', 'set', 'lo', 'up'], ns);
    }
    // The host's tunnel address, on an empty bridge (this kernel has no dummy devices): no peers, so no VXLAN packet ever leaves.
    await run('ip', ['link', 'add', 'ul0', 'type', 'bridge'], NS.h1);
    await run('ip', ['addr', 'add', '192.168.78.1/24', 'dev', 'ul0'], NS.h1);
    await run('ip', ['link', 'set', 'ul0', 'up'], NS.h1);
    stateDir = mkdtempSync(join(tmpdir(), 'nlm-h1-'));
    chmodSync(stateDir, 0o755); // dnsmasq reads its files as nobody (see dhcp.ts)
    server = await startMetadataServer({ socketPath: metadataSocketPath(stateDir), plan: () => state, guest: (id) => Object.values(specs).find((s) => s.instance_id === id) });
    expect((await apply()).total).toBeGreaterThan(0);

    // A udhcpc script that configures the address and the classless routes it was given, nothing else.
    scriptDir = mkdtempSync(join(tmpdir(), 'nlm-udhcpc-'));
    const ipTool = PATH.split(':').map((d) => join(d, 'ip')).find((p) => existsSync(p))!;
    const script = join(scriptDir, 'script');
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        '[ "$1" = bound ] || exit 0',
        `${ipTool} addr add "$ip/$mask" dev "$interface"`,
        'env > "$0.$ip"',
        'set -- $staticroutes',
        `while [ $# -ge 2 ]; do ${ipTool} route replace "$1" via "$2" dev "$interface"; shift 2; done`,
        'exit 0',
        '',
      ].join('\n'),
    );
    chmodSync(script, 0o755);
    for (const guest of ['g1', 'g2'] as const) {
      await run('ip', ['link', 'set', 'eth0', 'up'], NS[guest]);
      await run('busybox', ['udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '5', '-T', '1', '-O', 'staticroutes', '-s', script], NS[guest]);
      const env = readFileSync(`${script}.${PORTS[guest].ip}`, 'utf8');
      expect(env).toMatch(new RegExp(`^staticroutes=169\\.254\\.169\\.254/32 ${DHCP_IP.replace(/\./g, '\\.')} 0\\.0\\.0\\.0/0 10\\.78\\.0\\.1$`, 'm'));
    }
  });

  afterAll(async () => {
    if (process.env.NOVALESS_KEEP_TEST_STATE) return;
    if (stateDir) await teardownHostNetwork({ netns: NS.h1, underlay_ip: '192.168.78.1' }, { runner: execRunner, stateDir }).catch(() => undefined);
    await server?.close();
    await removeNamespaces('nlm-');
    for (const dir of [stateDir, scriptDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers each guest with its own instance, by the route DHCP gave it', async () => {
    for (const guest of ['g1', 'g2'] as const) {
      const body = await eventually(() => fetchFrom(guest, '/openstack/latest/meta_data.json'));
      expect(body, logs.join('\n')).toBeDefined();
      expect(JSON.parse(body!)).toMatchObject({ uuid: specs[guest].instance_id, name: specs[guest].name });
      expect(await fetchFrom(guest, '/latest/meta-data/local-ipv4')).toBe(PORTS[guest].ip);
    }
  });

  it('ignores the source headers a guest sends: the proxy sets them itself', async () => {
    const forged = ['-H', `X-Forwarded-For: ${PORTS.g2.ip}`, '-H', 'X-Novaless-Network-Id: 00000000-0000-4000-8000-000000000000'];
    expect(JSON.parse((await fetchFrom('g1', '/openstack/latest/meta_data.json', forged))!).uuid).toBe(specs.g1.instance_id);
  });

  it('changes nothing when the same state is applied again', async () => {
    expect((await apply()).total).toBe(0);
  });

  it('gives a guest that forges another’s address nothing: anti-spoofing drops it', async () => {
    await run('ip', ['addr', 'add', `${PORTS.g1.ip}/32`, 'dev', 'eth0'], NS.g2);
    try {
      expect(await fetchFrom('g2', '/openstack/latest/meta_data.json', ['--interface', PORTS.g1.ip, '--connect-timeout', '1'])).toBeUndefined();
    } finally {
      await run('ip', ['addr', 'del', `${PORTS.g1.ip}/32`, 'dev', 'eth0'], NS.g2);
    }
    // The same request from its own address goes through.
    const own = await eventually(() => fetchFrom('g2', '/openstack/latest/meta_data.json', ['--interface', PORTS.g2.ip, '--connect-timeout', '1']));
    expect(JSON.parse(own!).uuid).toBe(specs.g2.instance_id);
  });

  it('restarts a namespace’s proxy that died when the state is applied again', async () => {
    const files = proxyFiles(dnsmasqFiles(stateDir, NET).dir);
    const pid = Number(readFileSync(files.pidFile, 'utf8'));
    expect(await run('ip', ['netns', 'identify', String(pid)])).toContain(dhcpNamespace(NS.h1, NET));
    process.kill(pid, 'SIGKILL');
    await eventually(async () => ((await argsOf(pid)) === undefined ? true : undefined));
    expect(await fetchFrom('g1', '/openstack/latest/meta_data.json')).toBeUndefined();

    expect((await apply()).dhcp).toEqual({ added: 1, changed: 0, removed: 0 });
    expect(Number(readFileSync(files.pidFile, 'utf8'))).not.toBe(pid);
    expect(JSON.parse((await eventually(() => fetchFrom('g1', '/openstack/latest/meta_data.json')))!).uuid).toBe(specs.g1.instance_id);
  });

  it('stops the proxy with the namespace', async () => {
    const files = proxyFiles(dnsmasqFiles(stateDir, NET).dir);
    const pid = Number(readFileSync(files.pidFile, 'utf8'));
    await teardownHostNetwork({ netns: NS.h1, underlay_ip: '192.168.78.1' }, { runner: execRunner, stateDir });
    expect(await argsOf(pid)).toBeUndefined();
    expect(await namespaces()).not.toContain(dhcpNamespace(NS.h1, NET));
  });
});
