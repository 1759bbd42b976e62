import '../support/cloud-env.js';
import type { ChildProcess } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { appliedPlanFile } from '../../host-agent/commands/network-plan.js';
import type { HostNetworkPlan } from '../../shared/domain/network/host-plan.js';
import { DeviceOwner, type Port } from '../../shared/domain/network/port.js';
import { sendHostCommand } from '../../shared/messages/host-commands.js';
import { computeHostPlan } from '../../shared/network-plan/host-plan.js';
import { FOLLOW_UP_DELAY_SECONDS } from '../../shared/network-plan/sync.js';
import { createPort, getPort, listNetworkPorts } from '../../shared/store/network/ports.js';
import { ensureDefaultSecurityGroup } from '../../shared/store/network/security-groups.js';
import { getSubnet } from '../../shared/store/network/subnets.js';
import { stopAgent } from '../../infra/local/agents.js';
import { getHost } from '../../shared/store/hosts.js';
import { api, issueToken, waitFor } from '../support/cloud.js';
import { uploadTestImage } from '../support/images.js';
import { hostInventory, retireHost, uniqueName } from '../support/fixtures.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';
import { deliver } from '../support/queue-events.js';
import { startTestAgent } from '../support/test-agents.js';

/**
 * Each host's network plan, computed from the table and pushed to the host: what a plan holds
 * (in-process, for hosts registered only here), and the round trip with a real agent (fake
 * driver: it applies nothing to the kernel but records the plan and reports the ports plugged).
 */
const NET = '/networking/v2.0';
const zone = uniqueName('plan-zone');
/** The agent's zone of its own: the hosts registered here in-process serve nothing. */
const agentZone = uniqueName('plan-agent-zone');
const hostA = uniqueName('plan-a');
const hostB = uniqueName('plan-b');
const agentHost = uniqueName('plan-agent');
const octet = () => randomInt(0, 250);

let admin: string;
let user: ProjectMember;
let dir: string;
let agent: ChildProcess | undefined;

async function ok(method: string, path: string, token: string, body?: unknown) {
  const res = await api(method, `${NET}${path}`, { token, body });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A project network with one subnet (and its DHCP port). */
async function projectNetwork(): Promise<{ networkId: string; subnetId: string }> {
  const { network } = await ok('POST', '/networks', user.token, { network: { name: uniqueName('plan-net') } });
  const cidr = `10.${100 + octet() % 100}.${octet()}.0/24`;
  const { subnet } = await ok('POST', '/subnets', user.token, { subnet: { network_id: network.id, ip_version: 4, cidr } });
  return { networkId: network.id, subnetId: subnet.id };
}

/** A server's port bound to a host, as the scheduler leaves it (written straight into the table). */
async function serverPort(subnetId: string, host: string, groups: string[]): Promise<Port> {
  const subnet = (await getSubnet(subnetId))!;
  const now = new Date().toISOString();
  return createPort(
    {
      id: randomUUID(),
      project_id: user.projectId,
      name: '',
      description: '',
      revision_number: 1,
      created_at: now,
      updated_at: now,
      network_id: subnet.network_id,
      device_id: randomUUID(),
      device_owner: `compute:${zone}`,
      admin_state_up: true,
      status: 'DOWN',
      binding_host_id: host,
      security_groups: groups,
      port_security_enabled: true,
      allowed_address_pairs: [],
      delete_with_device: true,
    },
    [{ subnet }],
  );
}

const register = (host: string, tunnelIp: string) =>
  deliver(conductor, { type: 'register', host, at: new Date().toISOString(), inventory: { ...hostInventory(host, zone), tunnel_ip: tunnelIp } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novaless-network-plan-'));
  admin = await issueToken();
  user = await createProjectMember(uniqueName('plan-user'), admin);
  await register(hostA, '172.31.0.1');
  await register(hostB, '172.31.0.2');
});

afterAll(async () => {
  if (agent) await stopAgent(agent, 3_000);
  for (const host of [hostA, hostB, agentHost]) await retireHost(host).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('a host network plan computed from the table', () => {
  it('has the host ports, their network with the peers on other hosts, and the default group with its members', async () => {
    const { networkId, subnetId } = await projectNetwork();
    const other = await projectNetwork();
    const defaultGroup = (await ensureDefaultSecurityGroup(user.projectId)).id;
    const a1 = await serverPort(subnetId, hostA, [defaultGroup]);
    const a2 = await serverPort(subnetId, hostA, [defaultGroup]);
    const b1 = await serverPort(subnetId, hostB, [defaultGroup]);
    const b2 = await serverPort(other.subnetId, hostB, [defaultGroup]);

    const plan = await computeHostPlan(hostA);
    expect(plan.ports.map((p) => p.id).sort()).toEqual([a1.id, a2.id].sort());
    expect(plan.devices).toEqual(expect.arrayContaining([{ port_id: a1.id, instance_id: a1.device_id }]));
    expect(plan.networks.map((n) => n.id)).toEqual([networkId]);
    const network = plan.networks[0];
    expect(network.subnets.map((s) => s.id)).toEqual([subnetId]);
    expect(network.dhcp?.fixed_ips).toHaveLength(1);
    expect(network.flood).toEqual(['172.31.0.2']);
    expect(network.remote_ports).toEqual([{ mac_address: b1.mac_address, ip_address: b1.fixed_ips[0].ip_address, vtep: '172.31.0.2' }]);

    const group = plan.security_groups.find((g) => g.id === defaultGroup)!;
    expect(group.rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ direction: 'egress', ethertype: 'IPv4', remote_group_id: null }),
        expect.objectContaining({ direction: 'ingress', ethertype: 'IPv4', remote_group_id: defaultGroup }),
      ]),
    );
    expect(group.rules.every((r) => r.ethertype === 'IPv4')).toBe(true);
    // Every member of the group, on any host and network.
    expect(group.member_ips).toEqual(expect.arrayContaining([a1, a2, b1, b2].map((p) => p.fixed_ips[0].ip_address)));

    const planB = await computeHostPlan(hostB);
    expect(planB.networks.map((n) => n.id).sort()).toEqual([networkId, other.networkId].sort());
    expect(planB.networks.find((n) => n.id === other.networkId)!.flood).toEqual([]);
  });

  it('gives a host behind a router with a gateway its own port on the external network, once, even when computed twice at once', async () => {
    const ext = (await ok('POST', '/networks', admin, { network: { name: uniqueName('plan-ext'), 'router:external': true } })).network;
    const third = octet();
    await ok('POST', '/subnets', admin, {
      subnet: { network_id: ext.id, ip_version: 4, cidr: `100.64.${third}.0/24`, gateway_ip: `100.64.${third}.1`, enable_dhcp: false },
    });
    const { subnetId } = await projectNetwork();
    const { router } = await ok('POST', '/routers', user.token, { router: { name: uniqueName('plan-router'), external_gateway_info: { network_id: ext.id } } });
    await ok('PUT', `/routers/${router.id}/add_router_interface`, user.token, { subnet_id: subnetId });
    await serverPort(subnetId, hostA, []);

    const plans = await Promise.all([computeHostPlan(hostA), computeHostPlan(hostA)]);
    const gatewayPorts = (await listNetworkPorts(ext.id)).filter((p) => p.device_owner === DeviceOwner.agentGateway && p.device_id === hostA);
    expect(gatewayPorts).toHaveLength(1);
    expect(gatewayPorts[0]).toMatchObject({ binding_host_id: hostA });
    for (const plan of plans) {
      const routerPlan = plan.routers.find((r) => r.id === router.id)!;
      expect(routerPlan.interfaces).toEqual([expect.objectContaining({ subnet_id: subnetId, prefix_length: 24 })]);
      expect(routerPlan.gateway).toEqual({
        network_id: ext.id,
        host_address: gatewayPorts[0].fixed_ips[0].ip_address,
        host_mac_address: gatewayPorts[0].mac_address,
        prefix_length: 24,
        gateway_ip: `100.64.${third}.1`,
        enable_snat: true,
      });
    }
    // A later compute finds it and makes no other.
    await computeHostPlan(hostA);
    expect((await listNetworkPorts(ext.id)).filter((p) => p.device_owner === DeviceOwner.agentGateway && p.device_id === hostA)).toHaveLength(1);
  });
});

describe('plans pushed to a host agent', () => {
  let networkId: string;
  let serverPortId: string;
  const planOnHost = async (): Promise<HostNetworkPlan | undefined> => {
    try {
      return JSON.parse(await readFile(appliedPlanFile(join(dir, 'agents', agentHost)), 'utf8')).plan;
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    agent = startTestAgent({ host: agentHost, zone: agentZone, vcpus: 8, memoryMb: 10240, diskGb: 100, stateDir: dir });
    ({ networkId } = await projectNetwork());
    const imageId = await uploadTestImage(uniqueName('plan-image'), admin);
    await waitFor('the test agent to register', async () => !!(await getHost(agentHost)));
    const res = await api('POST', '/compute/v2.1/servers', {
      token: user.token,
      body: { server: { name: uniqueName('plan-vm'), imageRef: imageId, flavorRef: '1', availability_zone: agentZone, networks: [{ uuid: networkId }] } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const serverId = res.body.server.id as string;
    const ports = await waitFor('the server port', async () => {
      const list = (await ok('GET', `/ports?device_id=${serverId}`, user.token)).ports as { id: string }[];
      return list.length ? list : undefined;
    });
    serverPortId = ports[0].id;
  });

  it('binds a booted server port to its host, and the port becomes ACTIVE once the host has its plan', async () => {
    const port = await waitFor('the port ACTIVE', async () => {
      const p = await getPort(serverPortId);
      return p?.status === 'ACTIVE' ? p : undefined;
    }, 60_000);
    expect(port.binding_host_id).toBe(agentHost);
    const plan = await waitFor('the plan on the host', async () => {
      const p = await planOnHost();
      return p?.ports.some((x) => x.id === serverPortId) ? p : undefined;
    });
    expect(plan.networks.map((n) => n.id)).toEqual([networkId]);
    expect(plan.devices).toEqual([{ port_id: serverPortId, instance_id: port.device_id }]);
  });

  it('pushes a newer plan to the host when a rule is added to its group', async () => {
    const before = (await waitFor('a plan on the host', planOnHost))!;
    const groupId = before.ports[0].security_group_ids[0];
    const { security_group_rule: rule } = await ok('POST', '/security-group-rules', user.token, {
      security_group_rule: { security_group_id: groupId, direction: 'ingress', protocol: 'tcp', port_range_min: 8080, port_range_max: 8080, remote_ip_prefix: '192.0.2.9/24' },
    });
    const after = await waitFor('the plan with the new rule', async () => {
      const p = await planOnHost();
      return p?.security_groups.find((g) => g.id === groupId)?.rules.some((r) => r.id === rule.id) ? p : undefined;
    });
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.security_groups.find((g) => g.id === groupId)!.rules.find((r) => r.id === rule.id)).toMatchObject({
      protocol: 'tcp',
      port_range_min: 8080,
      remote_ip_prefix: '192.0.2.0/24',
    });
  });

  it('computes the plans of a change once more a few seconds later, when the indexes have caught up', async () => {
    const applied = (await waitFor('a plan on the host', planOnHost))!;
    // No change since the last test's rule: only its follow-up brings a newer plan.
    const again = await waitFor('the follow-up plan', async () => {
      const p = await planOnHost();
      return p && p.revision > applied.revision ? p : undefined;
    }, 15_000);
    expect({ ...again, revision: 0 }).toEqual({ ...applied, revision: 0 });
    // And it ends: a follow-up has no follow-up of its own, so the plans stop coming.
    const revision = async () => (await planOnHost())!.revision;
    await waitFor('the plans to stop coming', async () => {
      const before = await revision();
      await new Promise((r) => setTimeout(r, (FOLLOW_UP_DELAY_SECONDS + 1) * 1000));
      return (await revision()) === before;
    }, 30_000);
  });

  it('ignores a plan older than the one it applied', async () => {
    const current = (await planOnHost())!;
    const stale: HostNetworkPlan = { revision: current.revision - 1, networks: [], ports: [], security_groups: [], routers: [], devices: [], dvr_mac: null };
    expect(await sendHostCommand(agentHost, { type: 'network_plan', request_id: 'req-stale-plan', plan: stale })).toBe(true);
    // Then a plan from the table: when it is there, the stale one (sent first) was received too.
    const fresh = await computeHostPlan(agentHost);
    expect(await sendHostCommand(agentHost, { type: 'network_plan', request_id: 'req-fresh-plan', plan: fresh })).toBe(true);
    await waitFor('the fresh plan', async () => (await planOnHost())?.revision === fresh.revision);
    await new Promise((r) => setTimeout(r, 2000));
    const kept = (await planOnHost())!;
    expect(kept.revision).toBe(fresh.revision);
    expect(kept.ports.map((p) => p.id)).toEqual([serverPortId]);
  });
});
