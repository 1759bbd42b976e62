import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Host } from '../../../shared/domain/host.js';
import type { FloatingIp } from '../../../shared/domain/network/floating-ip.js';
import type { Network } from '../../../shared/domain/network/network.js';
import { DeviceOwner, type Port } from '../../../shared/domain/network/port.js';
import type { Router } from '../../../shared/domain/network/router.js';
import type { SecurityGroupRule } from '../../../shared/domain/network/security-group.js';
import type { Subnet } from '../../../shared/domain/network/subnet.js';
import {
  agentGatewayPortId,
  agentGatewaysNeeded,
  buildHostPlan,
  dvrMacOf,
  ruleState,
  type NetworkSnapshot,
} from '../../../shared/network-plan/host-plan.js';

/** A small cloud in memory: the plan is plain code over what the table holds. */
const at = (n: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString();
const std = (n: number) => ({ id: randomUUID(), project_id: 'p1', name: '', description: '', revision_number: 1, created_at: at(n), updated_at: at(n) });

function host(name: string, ip: string, tunnel?: string): Host {
  return { host: name, host_ip: ip, tunnel_ip: tunnel, queue_url: `q-${name}` } as Host;
}
function network(n: number, vni: number, external = false): Network {
  return { ...std(n), admin_state_up: true, shared: false, router_external: external, mtu: external ? 1500 : 1450, vni, port_security_enabled: true };
}
function subnet(n: number, net: Network, cidr: string, gateway: string | null): Subnet {
  return { ...std(n), network_id: net.id, ip_version: 4, cidr, gateway_ip: gateway, allocation_pools: [], dns_nameservers: ['192.0.2.53'], host_routes: [], enable_dhcp: true };
}
let macs = 0;
function port(n: number, sub: Subnet, ip: string, fields: Partial<Port> = {}): Port {
  return {
    ...std(n),
    network_id: sub.network_id,
    mac_address: `fa:16:3e:00:00:${(++macs).toString(16).padStart(2, '0')}`,
    fixed_ips: [{ subnet_id: sub.id, ip_address: ip }],
    device_id: '',
    device_owner: '',
    admin_state_up: true,
    status: 'DOWN',
    binding_host_id: '',
    security_groups: [],
    port_security_enabled: true,
    allowed_address_pairs: [],
    delete_with_device: true,
    ...fields,
  };
}
const server = (n: number, sub: Subnet, ip: string, hostName: string, groups: string[], fields: Partial<Port> = {}) =>
  port(n, sub, ip, { device_id: randomUUID(), device_owner: 'compute:nova', binding_host_id: hostName, security_groups: groups, ...fields });
let rules = 0;
function rule(groupId: string, fields: Partial<SecurityGroupRule>): SecurityGroupRule {
  const { name: _name, ...base } = std(++rules);
  return {
    ...base,
    security_group_id: groupId,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: null,
    belongs_to_default_sg: false,
    ...fields,
  };
}

function cloud() {
  const defaultGroup = randomUUID();
  const webGroup = randomUUID();
  const net1 = network(1, 101);
  const net2 = network(2, 102);
  const pub = network(3, 103, true);
  const sub1 = subnet(4, net1, '10.0.1.0/24', '10.0.1.1');
  const sub2 = subnet(5, net2, '10.0.2.0/24', '10.0.2.1');
  const pubSub = subnet(6, pub, '203.0.113.0/24', '203.0.113.1');
  const a1 = server(10, sub1, '10.0.1.10', 'a', [defaultGroup]);
  const a2 = server(11, sub1, '10.0.1.11', 'a', [defaultGroup, webGroup], { allowed_address_pairs: [{ ip_address: '10.0.1.200', mac_address: 'fa:16:3e:aa:aa:aa' }, { ip_address: '2001:db8::1', mac_address: 'fa:16:3e:aa:aa:aa' }] });
  const b1 = server(12, sub1, '10.0.1.12', 'b', [defaultGroup]);
  const c1 = server(13, sub2, '10.0.2.10', 'c', [defaultGroup]);
  const unbound = server(14, sub1, '10.0.1.13', '', [defaultGroup]);
  const dhcp = port(15, sub1, '10.0.1.2', { device_owner: 'network:dhcp', device_id: `dhcp-${sub1.id}`, port_security_enabled: false });
  const router: Router = { ...std(20), admin_state_up: true, status: 'ACTIVE', external_gateway: { network_id: pub.id, enable_snat: true, port_id: randomUUID(), external_fixed_ips: [] } };
  const if1 = port(21, sub1, '10.0.1.1', { device_owner: 'network:router_interface', device_id: router.id, port_security_enabled: false });
  const if2 = port(22, sub2, '10.0.2.1', { device_owner: 'network:router_interface', device_id: router.id, port_security_enabled: false });
  const fip: FloatingIp = {
    ...std(30),
    floating_network_id: pub.id,
    floating_ip_address: '203.0.113.50',
    floating_port_id: randomUUID(),
    port_id: a1.id,
    fixed_ip_address: '10.0.1.10',
    router_id: router.id,
    status: 'ACTIVE',
  };
  const rules = [
    rule(defaultGroup, { direction: 'egress' }),
    rule(defaultGroup, { direction: 'egress', ethertype: 'IPv6' }),
    rule(defaultGroup, { remote_group_id: defaultGroup }),
    rule(webGroup, { protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '192.0.2.7/24' }),
    rule(webGroup, { protocol: 'vrrp' }),
    rule(webGroup, { protocol: '6', port_range_min: 22, port_range_max: 22, remote_group_id: webGroup }),
  ];
  const snapshot: NetworkSnapshot = {
    hosts: [host('a', '192.168.0.1', '172.16.0.1'), host('b', '192.168.0.2'), host('c', '192.168.0.3', '172.16.0.3')],
    networks: [net1, net2, pub],
    subnets: [sub1, sub2, pubSub],
    ports: [a1, a2, b1, c1, unbound, dhcp, if1, if2],
    rules,
    routers: [router],
    floatingIps: [fip],
  };
  return { snapshot, defaultGroup, webGroup, net1, net2, pub, sub1, sub2, pubSub, a1, a2, b1, c1, dhcp, router, if1, if2 };
}

describe('a host network plan from the table', () => {
  it('has the host ports, their network with its DHCP port, and the peers on other hosts', () => {
    const c = cloud();
    const plan = buildHostPlan(c.snapshot, 'a', 7);
    expect(plan.revision).toBe(7);
    expect(plan.ports.map((p) => p.id)).toEqual([c.a1.id, c.a2.id]);
    expect(plan.devices).toEqual([
      { port_id: c.a1.id, instance_id: c.a1.device_id },
      { port_id: c.a2.id, instance_id: c.a2.device_id },
    ]);
    // net1 for its ports; net2 because its router routes into it (without DHCP: no guest of its own there).
    expect(plan.networks.map((n) => n.id)).toEqual([c.net1.id, c.net2.id]);
    expect(plan.networks[1]).toMatchObject({ id: c.net2.id, dhcp: null, flood: ['172.16.0.3'], remote_ports: [{ mac_address: c.c1.mac_address, ip_address: '10.0.2.10', vtep: '172.16.0.3' }] });
    expect(plan.networks[0]).toMatchObject({
      id: c.net1.id,
      vni: 101,
      mtu: 1450,
      subnets: [{ id: c.sub1.id, cidr: '10.0.1.0/24', gateway_ip: '10.0.1.1', enable_dhcp: true, dns_nameservers: ['192.0.2.53'] }],
      dhcp: { mac_address: c.dhcp.mac_address, fixed_ips: [{ subnet_id: c.sub1.id, ip_address: '10.0.1.2' }] },
      // b registered no tunnel address: its host address is its VTEP. The unbound port is nowhere.
      flood: ['192.168.0.2'],
      remote_ports: [{ mac_address: c.b1.mac_address, ip_address: '10.0.1.12', vtep: '192.168.0.2' }],
    });
    // IPv6 address pairs are dropped (the data plane is IPv4).
    expect(plan.ports[1].allowed_address_pairs).toEqual([{ ip_address: '10.0.1.200', mac_address: 'fa:16:3e:aa:aa:aa' }]);
  });

  it('has the security groups with IPv4 rules in data-plane words and their members cloud-wide', () => {
    const c = cloud();
    const plan = buildHostPlan(c.snapshot, 'a', 1);
    const byId = new Map(plan.security_groups.map((g) => [g.id, g]));
    expect([...byId.keys()].sort()).toEqual([c.defaultGroup, c.webGroup].sort());
    const def = byId.get(c.defaultGroup)!;
    expect(def.rules.map((r) => [r.direction, r.ethertype, r.remote_group_id])).toEqual([
      ['egress', 'IPv4', null],
      ['ingress', 'IPv4', c.defaultGroup],
    ]);
    expect(def.member_ips).toEqual(['10.0.1.10', '10.0.1.11', '10.0.1.12', '10.0.1.13', '10.0.1.200', '10.0.2.10']);
    const web = byId.get(c.webGroup)!;
    expect(web.rules.map((r) => [r.protocol, r.port_range_min, r.remote_ip_prefix])).toEqual([
      ['tcp', 80, '192.0.2.0/24'],
      ['112', null, null],
      ['tcp', 22, null],
    ]);
    expect(web.member_ips).toEqual(['10.0.1.11', '10.0.1.200']);
  });

  it('adds a group named only as remote group, with its members and no rules', () => {
    const c = cloud();
    const other = randomUUID();
    c.snapshot.rules.push(rule(c.webGroup, { remote_group_id: other }));
    c.snapshot.ports[3].security_groups.push(other); // c1, on host c
    const plan = buildHostPlan(c.snapshot, 'a', 1);
    expect(plan.security_groups.find((g) => g.id === other)).toEqual({ id: other, rules: [], member_ips: ['10.0.2.10'] });
  });

  it('gives a port without port security no groups', () => {
    const c = cloud();
    c.snapshot.ports[0] = { ...c.a1, port_security_enabled: false, security_groups: [] };
    const plan = buildHostPlan(c.snapshot, 'a', 1);
    expect(plan.ports[0]).toMatchObject({ port_security_enabled: false, security_group_ids: [] });
  });

  it('has the routers behind its ports with all their interfaces, floating IPs and its own gateway port', () => {
    const c = cloud();
    expect(agentGatewaysNeeded(c.snapshot, 'a')).toEqual([c.pub.id]);
    const withoutGatewayPort = buildHostPlan(c.snapshot, 'a', 1);
    expect(withoutGatewayPort.routers).toHaveLength(1);
    expect(withoutGatewayPort.routers[0]).toMatchObject({
      id: c.router.id,
      interfaces: [
        { port_id: c.if1.id, network_id: c.net1.id, subnet_id: c.sub1.id, mac_address: c.if1.mac_address, ip_address: '10.0.1.1', prefix_length: 24 },
        { port_id: c.if2.id, network_id: c.net2.id, subnet_id: c.sub2.id, mac_address: c.if2.mac_address, ip_address: '10.0.2.1', prefix_length: 24 },
      ],
      gateway: null,
      floating_ips: [{ floating_ip_address: '203.0.113.50', fixed_ip_address: '10.0.1.10', port_id: c.a1.id }],
    });

    c.snapshot.ports.push(
      port(40, c.pubSub, '203.0.113.9', { id: agentGatewayPortId('a', c.pub.id), device_owner: DeviceOwner.agentGateway, device_id: 'a', binding_host_id: 'a', port_security_enabled: false }),
    );
    expect(agentGatewaysNeeded(c.snapshot, 'a')).toEqual([]);
    const plan = buildHostPlan(c.snapshot, 'a', 2);
    expect(plan.routers[0].gateway).toMatchObject({ network_id: c.pub.id, host_address: '203.0.113.9', prefix_length: 24, gateway_ip: '203.0.113.1', enable_snat: true });
    // Host b has a port behind the router but no floating IP; it needs its own gateway port.
    expect(buildHostPlan(c.snapshot, 'b', 2).routers[0].floating_ips).toEqual([]);
    expect(agentGatewaysNeeded(c.snapshot, 'b')).toEqual([c.pub.id]);
  });

  it('is empty for a host without server ports', () => {
    const plan = buildHostPlan(cloud().snapshot, 'nowhere', 3);
    expect(plan).toEqual({ revision: 3, networks: [], ports: [], security_groups: [], routers: [], devices: [], dvr_mac: dvrMacOf('nowhere') });
  });

  it("gives each host its own DVR MAC in Neutron's DVR range, the same every time", () => {
    expect(dvrMacOf('a')).toMatch(/^fa:16:3f(:[0-9a-f]{2}){3}$/);
    expect(dvrMacOf('a')).toBe(buildHostPlan(cloud().snapshot, 'a', 1).dvr_mac);
    expect(dvrMacOf('a')).not.toBe(dvrMacOf('b'));
  });
});

describe('pieces of the plan', () => {
  it('turns stored rules into the data plane rule shape', () => {
    expect(ruleState(rule(randomUUID(), { ethertype: 'IPv6' }))).toBeUndefined();
    expect(ruleState(rule(randomUUID(), { protocol: '17' }))?.protocol).toBe('udp');
    expect(ruleState(rule(randomUUID(), { protocol: 'dccp' }))?.protocol).toBe('33');
    expect(ruleState(rule(randomUUID(), { protocol: '253' }))?.protocol).toBe('253');
    expect(ruleState(rule(randomUUID(), { remote_ip_prefix: '10.1.2.3/8' }))?.remote_ip_prefix).toBe('10.0.0.0/8');
  });

  it('names a host gateway port the same way every time, as a valid UUID', () => {
    const net = randomUUID();
    const id = agentGatewayPortId('host-1', net);
    expect(id).toBe(agentGatewayPortId('host-1', net));
    expect(id).not.toBe(agentGatewayPortId('host-2', net));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
