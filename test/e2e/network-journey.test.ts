import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHost, canMakeNamespaces, topologyFor, type TopologyHost } from '../../infra/local/network-topology.js';
import { cloud, createProjectUser, openstack, openstackJson, waitFor, type Credentials } from '../support/cloud.js';
import { buildTestGuest, killAgent, killQemusOf, startQemuAgent, stopAgent, type QemuAgentOptions } from '../support/qemu-agents.js';

const run = promisify(execFile);

/**
 * The install guide's first-boot journey, word for word, with real packets: a user's network,
 * subnet and router with its gateway on `public`, security group rules for ssh and ping, a
 * keypair, two servers on two hosts (each host agent in its own namespace, guests on TCG), a
 * floating IP, then `ip netns exec $NOVALESS_EXTERNAL_NETNS ssh cirros@<floating ip> hostname`.
 */

type Row = Record<string, unknown>;
const suffix = Date.now().toString(36);
const BOOT_MS = 180_000;
const SSH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR'];

const networking = await canMakeNamespaces();
const reason = !networking.ok ? networking.why : !cloud().externalNetns ? 'the shared cloud has no outside-world namespace' : undefined;

describe.skipIf(reason !== undefined)(`the network journey${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let baseDir: string;
  let user: Credentials;
  let keyFile: string;
  const agents: ChildProcess[] = [];
  const agentOptions: QemuAgentOptions[] = [];
  const hosts: TopologyHost[] = [];
  const zones = [`nj1-${suffix}`, `nj2-${suffix}`];
  const servers = new Map<string, Row>();
  let floatingIp = '';
  const externalNetns = () => cloud().externalNetns!;

  /** `ssh cirros@<address> <command>` from the outside world, through `via` (a jump host: the guest with the floating IP) when given. */
  async function ssh(address: string, command: string, via?: string): Promise<string> {
    const options = ['-i', keyFile, ...SSH_OPTIONS];
    const jump = via ? ['-o', `ProxyCommand=ssh ${options.join(' ')} -W %h:%p cirros@${via}`] : [];
    const { stdout } = await run('ip', ['netns', 'exec', externalNetns(), 'ssh', ...options, ...jump, `cirros@${address}`, command], { timeout: 30_000 });
    return stdout.trim();
  }
  const sshWorks = (address: string) => ssh(address, 'true').then(() => true, () => false);

  async function bootOn(zone: string, name: string, network: string): Promise<Row> {
    const server = await openstackJson(['server', 'create', '--image', `journey-guest-${suffix}`, '--flavor', 'm1.tiny', '--network', network, '--key-name', `key-${suffix}`, '--availability-zone', zone, '--wait', name], user);
    servers.set(name, server);
    return server;
  }

  beforeAll(async () => {
    baseDir = mkdtempSync('/tmp/nj-');
    keyFile = join(baseDir, 'id_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    const topology = topologyFor(cloud().stateDir);
    hosts.push(await addHost(topology, `nj1${suffix.slice(-4)}`, 201), await addHost(topology, `nj2${suffix.slice(-4)}`, 202));
    const [guestImage, who] = await Promise.all([buildTestGuest(), createProjectUser(`journey-${suffix}`)]);
    user = who;
    hosts.forEach((network, i) => {
      agentOptions.push({ host: `nj${i + 1}-${suffix}`, zone: zones[i], baseDir, heartbeatSeconds: 2, network });
      agents.push(startQemuAgent(agentOptions[i]));
    });
    await openstack(['image', 'create', '--file', guestImage, '--disk-format', 'qcow2', '--container-format', 'bare', '--public', `journey-guest-${suffix}`]);
    await waitFor('both hosts to be up', async () => {
      const rows = await openstackJson<Row[]>(['compute', 'service', 'list']);
      return zones.every((z) => rows.some((r) => r.Zone === z && r.State === 'up'));
    }, 90_000, 1000);
  }, 300_000);

  afterAll(async () => {
    for (const s of servers.values()) await openstack(['server', 'delete', '--wait', String(s.id)], user).catch(() => undefined);
    await Promise.all(agents.map((a) => stopAgent(a)));
    await killQemusOf([...servers.values()].map((s) => String(s.id)));
    if (!process.env.NOVALESS_KEEP_TEST_STATE) rmSync(baseDir, { recursive: true, force: true });
  }, 300_000);

  it('boots a server on a tenant network behind a router and reaches it by ssh on its floating IP', { timeout: 400_000 }, async () => {
    await openstack(['keypair', 'create', '--public-key', `${keyFile}.pub`, `key-${suffix}`], user);
    await openstack(['network', 'create', `net-${suffix}`], user);
    await openstack(['subnet', 'create', '--network', `net-${suffix}`, '--subnet-range', '192.168.77.0/24', `sub-${suffix}`], user);
    await openstack(['router', 'create', `router-${suffix}`], user);
    await openstack(['router', 'add', 'subnet', `router-${suffix}`, `sub-${suffix}`], user);
    await openstack(['router', 'set', '--external-gateway', 'public', `router-${suffix}`], user);
    await openstack(['security', 'group', 'rule', 'create', '--proto', 'tcp', '--dst-port', '22', 'default'], user);
    await openstack(['security', 'group', 'rule', 'create', '--proto', 'icmp', 'default'], user);
    const vm = await bootOn(zones[0], `vm1-${suffix}`, `net-${suffix}`);
    const fip = await openstackJson(['floating', 'ip', 'create', 'public'], user);
    floatingIp = String(fip.floating_ip_address);
    await openstack(['server', 'add', 'floating', 'ip', String(vm.id), floatingIp], user);
    await waitFor(`ssh to ${floatingIp}`, () => sshWorks(floatingIp), BOOT_MS, 2000);
    expect(await ssh(floatingIp, 'hostname')).toBe(`vm1-${suffix}`);
    // DHCP gave the guest the address the API shows.
    const shown = await openstackJson(['server', 'show', String(vm.id)], user);
    const fixed = (shown.addresses as Record<string, string[]>)[`net-${suffix}`][0];
    expect(await ssh(floatingIp, 'ip -4 -o addr show eth0')).toContain(`${fixed}/24`);
  });

  it('joins guests on two hosts over VXLAN, serves each its own metadata, and lets a guest without a floating IP out through SNAT', { timeout: 400_000 }, async () => {
    const vm2 = await bootOn(zones[1], `vm2-${suffix}`, `net-${suffix}`);
    const vm2Ip = (vm2.addresses as Record<string, string[]>)[`net-${suffix}`][0];
    await waitFor(`ssh to ${vm2Ip} through the first guest`, () => ssh(vm2Ip, 'true', floatingIp).then(() => true, () => false), BOOT_MS, 2000);
    expect(await ssh(floatingIp, `ping -c 3 -W 2 ${vm2Ip}`)).toMatch(/3 packets received/);
    const meta = JSON.parse(await ssh(vm2Ip, 'wget -qO- http://169.254.169.254/openstack/latest/meta_data.json', floatingIp));
    expect(meta.uuid).toBe(vm2.id);
    // The outside world's address answers the guest that has no floating IP.
    expect(await ssh(vm2Ip, 'ping -c 2 -W 2 203.0.113.1', floatingIp)).toMatch(/2 packets received/);
  });

  it('closes ssh within seconds when its rule goes, opens it when the rule is back, and cuts inbound traffic when the floating IP goes', { timeout: 200_000 }, async () => {
    const rules = await openstackJson<Row[]>(['security', 'group', 'rule', 'list', '--protocol', 'tcp', 'default'], user);
    const ssh22 = rules.find((r) => r['Port Range'] === '22:22');
    await openstack(['security', 'group', 'rule', 'delete', String(ssh22!.ID)], user);
    await waitFor('ssh to be refused', async () => !(await sshWorks(floatingIp)), 30_000, 1000);
    await openstack(['security', 'group', 'rule', 'create', '--proto', 'tcp', '--dst-port', '22', 'default'], user);
    await waitFor('ssh to work again', () => sshWorks(floatingIp), 30_000, 1000);
    const vm = servers.get(`vm1-${suffix}`)!;
    await openstack(['server', 'remove', 'floating', 'ip', String(vm.id), floatingIp], user);
    await waitFor('the floating IP to stop answering', async () => !(await sshWorks(floatingIp)), 30_000, 1000);
  });

  it('survives a kill -9 of an agent: nothing is duplicated, the guests keep talking', { timeout: 200_000 }, async () => {
    const vm2Ip = (servers.get(`vm2-${suffix}`)!.addresses as Record<string, string[]>)[`net-${suffix}`][0];
    const vm = servers.get(`vm1-${suffix}`)!;
    await openstack(['server', 'add', 'floating', 'ip', String(vm.id), floatingIp], user);
    await waitFor('ssh on the floating IP again', () => sshWorks(floatingIp), 60_000, 1000);
    const rulesBefore = await nftRules(hosts[0].netns);
    await killAgent(agents[0]);
    agents[0] = startQemuAgent(agentOptions[0]);
    await waitFor('the restarted agent to re-apply its plan', async () => (await nftRules(hosts[0].netns)) === rulesBefore, 60_000, 1000);
    await waitFor('ssh on the floating IP after the restart', () => sshWorks(floatingIp), 60_000, 1000);
    expect(await nftRules(hosts[0].netns)).toBe(rulesBefore);
    expect(await ssh(floatingIp, `ping -c 2 -W 2 ${vm2Ip}`)).toMatch(/2 packets received/);
  });

  it("keeps another project's network apart, even with the same addresses", { timeout: 300_000 }, async () => {
    const other = await createProjectUser(`journey-other-${suffix}`);
    await openstack(['keypair', 'create', '--public-key', `${keyFile}.pub`, `key-${suffix}`], other);
    await openstack(['network', 'create', `net-${suffix}`], other);
    await openstack(['subnet', 'create', '--network', `net-${suffix}`, '--subnet-range', '192.168.77.0/24', `sub-${suffix}`], other);
    await openstack(['router', 'create', `router-${suffix}`], other);
    await openstack(['router', 'add', 'subnet', `router-${suffix}`, `sub-${suffix}`], other);
    await openstack(['router', 'set', '--external-gateway', 'public', `router-${suffix}`], other);
    await openstack(['security', 'group', 'rule', 'create', '--proto', 'tcp', '--dst-port', '22', 'default'], other);
    const vm3 = await openstackJson(['server', 'create', '--image', `journey-guest-${suffix}`, '--flavor', 'm1.tiny', '--network', `net-${suffix}`, '--key-name', `key-${suffix}`, '--availability-zone', zones[0], '--wait', `vm3-${suffix}`], other);
    servers.set(`vm3-${suffix}`, vm3);
    const fip = String((await openstackJson(['floating', 'ip', 'create', 'public'], other)).floating_ip_address);
    await openstack(['server', 'add', 'floating', 'ip', String(vm3.id), fip], other);
    await waitFor(`ssh to ${fip}`, () => sshWorks(fip), BOOT_MS, 2000);
    const vm1Ip = (servers.get(`vm1-${suffix}`)!.addresses as Record<string, string[]>)[`net-${suffix}`][0];
    // Same subnet, same host, another network: vm1 is not there.
    const answer = await ssh(fip, `ping -c 2 -W 2 ${vm1Ip}; echo exit=$?`);
    expect(answer).toMatch(/0 packets received/);
    expect(answer).toMatch(/exit=1$/);
    await openstack(['server', 'delete', '--wait', String(vm3.id)], other);
    servers.delete(`vm3-${suffix}`);
  });

  it('leaves no tap, rule or forwarding entry of a deleted server on any host', { timeout: 200_000 }, async () => {
    const vm2 = servers.get(`vm2-${suffix}`)!;
    const [port] = await openstackJson<Row[]>(['port', 'list', '--server', String(vm2.id)], user);
    const tap = `tap${String(port.ID).slice(0, 11)}`;
    const mac = String(port['MAC Address']);
    expect(await links(hosts[1].netns)).toContain(tap);
    await openstack(['server', 'delete', '--wait', String(vm2.id)], user);
    servers.delete(`vm2-${suffix}`);
    await waitFor('the tap to go', async () => !(await links(hosts[1].netns)).includes(tap), 30_000, 1000);
    // The entries the control plane pushed (`dst <vtep>`); the bridge's own learnt ones age out by themselves.
    // Up to the SQS visibility timeout: the agent killed above may have left a long poll that took the plan.
    const pushed = async () => (await fdb(hosts[0].netns)).split('\n').some((line) => line.startsWith(mac) && line.includes(' dst '));
    await waitFor('the forwarding entry on the other host to go', async () => !(await pushed()), 60_000, 1000);
    const rules = await nftRules(hosts[1].netns);
    expect(rules).not.toContain(tap);
    expect(rules).not.toContain(String(port.ID).replace(/-/g, '_'));
  });
});

async function nftRules(netns: string): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, 'nft', 'list', 'ruleset']);
  return stdout;
}

async function links(netns: string): Promise<string[]> {
  const { stdout } = await run('ip', ['-n', netns, '-j', 'link', 'show']);
  return (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname);
}

async function fdb(netns: string): Promise<string> {
  const { stdout } = await run('bridge', ['-n', netns, 'fdb', 'show']);
  return stdout;
}
