import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, issueToken, openstack, openstackJson } from '../support/cloud.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * Routers and floating IPs through the real `openstack` CLI and raw HTTP: an admin's external
 * network; a project's router with an interface and a gateway; a floating IP created, associated,
 * disassociated and deleted; and the refusals Neutron gives (never a 500, nothing half-made).
 */

type Response = Awaited<ReturnType<typeof api>>;
const NET = '/networking/v2.0';
const suffix = randomUUID().slice(0, 8);
const name = (prefix: string) => `${prefix}-${suffix}-${randomUUID().slice(0, 4)}`;

function expectNeutronError(res: Response, status: number, type: string, message?: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toEqual({ NeutronError: { type, message: expect.any(String), detail: '' } });
  if (message) expect(res.body.NeutronError.message).toMatch(message);
}

/** 198.51.100.10 to .20: the external subnet's pool. */
const inPool = (address: unknown) => {
  const [a, b, c, d] = String(address).split('.').map(Number);
  return a === 198 && b === 51 && c === 100 && d >= 10 && d <= 20;
};

describe('routers and floating IPs', () => {
  let admin: string;
  let user: ProjectMember;
  let other: ProjectMember;
  let extNet: string;
  let extName: string;

  /** Every port of the external network (admin's view): floating IP and gateway addresses. */
  const extPorts = async () => {
    const res = await api('GET', `${NET}/ports?network_id=${extNet}`, { token: admin });
    expect(res.status).toBe(200);
    return res.body.ports as { id: string; device_owner: string; fixed_ips: { ip_address: string }[] }[];
  };
  /** The project's network quota usage of one resource. */
  const used = async (who: ProjectMember, resource: 'port' | 'floatingip' | 'router') =>
    (await api('GET', `${NET}/quotas/${who.projectId}/details`, { token: who.token })).body.quota[resource].used as number;
  const call = async (method: string, path: string, token: string, body?: unknown) => api(method, `${NET}${path}`, { token, body });
  const ok = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await call(method, path, token, body);
    expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    return res.body;
  };

  /** A tenant network with a subnet, as raw API calls (the CLI journey below makes its own). */
  async function tenantNetwork(who: ProjectMember, cidr: string): Promise<{ networkId: string; subnetId: string }> {
    const { network } = await ok('POST', '/networks', who.token, { network: { name: name('net') } });
    const { subnet } = await ok('POST', '/subnets', who.token, { subnet: { network_id: network.id, ip_version: 4, cidr, name: name('sub') } });
    return { networkId: network.id, subnetId: subnet.id };
  }

  beforeAll(async () => {
    admin = await issueToken();
    user = await createProjectMember(name('fipuser'), admin);
    other = await createProjectMember(name('fipother'), admin);
    extName = name('ext');
    const ext = await openstackJson(['network', 'create', '--external', extName]);
    extNet = ext.id as string;
    await openstack([
      'subnet', 'create', '--network', extName, '--no-dhcp', '--subnet-range', '198.51.100.0/24',
      '--allocation-pool', 'start=198.51.100.10,end=198.51.100.20', `${extName}-sub`,
    ]);
  });

  it('routes a project subnet out and associates a floating IP with a port, with the CLI', async () => {
    const extPortsAtStart = (await extPorts()).length;
    const usedAtStart = [await used(user, 'port'), await used(user, 'floatingip'), await used(user, 'router')];
    const net = name('net');
    await openstack(['network', 'create', net], user);
    const subnet = await openstackJson(['subnet', 'create', '--network', net, '--subnet-range', '10.61.0.0/24', `${net}-sub`], user);
    const router = await openstackJson(['router', 'create', name('router')], user);
    expect(router).toMatchObject({ status: 'ACTIVE', admin_state_up: true });
    const routerId = router.id as string;

    await openstack(['router', 'add', 'subnet', routerId, subnet.id as string], user);
    const interfaces = (await ok('GET', `/ports?device_id=${routerId}`, user.token)).ports;
    expect(interfaces).toEqual([
      expect.objectContaining({ device_owner: 'network:router_interface', fixed_ips: [{ subnet_id: subnet.id, ip_address: '10.61.0.1' }] }),
    ]);

    await openstack(['router', 'set', '--external-gateway', extName, routerId], user);
    const withGateway = (await ok('GET', `/routers/${routerId}`, user.token)).router;
    expect(withGateway.external_gateway_info).toMatchObject({ network_id: extNet, enable_snat: true });
    expect(withGateway.external_gateway_info.external_fixed_ips).toHaveLength(1);
    expect(inPool(withGateway.external_gateway_info.external_fixed_ips[0].ip_address)).toBe(true);
    expect(withGateway).toMatchObject({ routes: [], distributed: false, ha: false, availability_zones: ['nova'], flavor_id: null });

    const port = await openstackJson(['port', 'create', '--network', net, name('port')], user);
    const fixedIp = (await ok('GET', `/ports/${port.id}`, user.token)).port.fixed_ips[0].ip_address as string;

    const fip = await openstackJson(['floating', 'ip', 'create', extName], user);
    expect(inPool(fip.floating_ip_address)).toBe(true);
    expect(fip).toMatchObject({ floating_network_id: extNet, port_id: null, fixed_ip_address: null, status: 'DOWN' });
    const address = fip.floating_ip_address as string;
    // Its address is held by a network:floatingip port whose device is the floating IP, as in Neutron.
    expect((await extPorts()).find((p) => p.fixed_ips[0]?.ip_address === address)).toMatchObject({ device_owner: 'network:floatingip' });

    await openstack(['floating', 'ip', 'set', '--port', port.id as string, address], user);
    const associated = (await ok('GET', `/floatingips/${fip.id}`, user.token)).floatingip;
    expect(associated).toMatchObject({
      port_id: port.id, fixed_ip_address: fixedIp, router_id: routerId, status: 'ACTIVE',
      port_details: expect.objectContaining({ network_id: port.network_id, mac_address: port.mac_address }),
    });
    const listed = await openstackJson<Record<string, unknown>[]>(['floating', 'ip', 'list'], user);
    expect(listed).toEqual([expect.objectContaining({ ID: fip.id, 'Floating IP Address': address, 'Fixed IP Address': fixedIp, Port: port.id })]);
    expect(await openstackJson(['floating', 'ip', 'show', address], user)).toMatchObject({ id: fip.id, port_id: port.id, router_id: routerId });
    const byPort = (await ok('GET', `/floatingips?port_id=${port.id}&fixed_ip_address=${fixedIp}`, user.token)).floatingips;
    expect(byPort.map((f: { id: string }) => f.id)).toEqual([fip.id]);
    // Other projects see neither the router nor the floating IP.
    expectNeutronError(await call('GET', `/floatingips/${fip.id}`, other.token), 404, 'FloatingIPNotFound');
    expectNeutronError(await call('GET', `/routers/${routerId}`, other.token), 404, 'RouterNotFound');
    expect((await ok('GET', '/floatingips', other.token)).floatingips).toEqual([]);

    // While the floating IP goes through it, the router keeps its interface and its gateway.
    expectNeutronError(await call('PUT', `/routers/${routerId}/remove_router_interface`, user.token, { subnet_id: subnet.id }), 409, 'RouterInterfaceInUseByFloatingIP');
    expectNeutronError(await call('PUT', `/routers/${routerId}`, user.token, { router: { external_gateway_info: {} } }), 409, 'RouterExternalGatewayInUseByFloatingIp');

    await openstack(['floating', 'ip', 'unset', '--port', address], user);
    expect((await ok('GET', `/floatingips/${fip.id}`, user.token)).floatingip).toMatchObject({
      port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', port_details: null,
    });

    await openstack(['router', 'remove', 'subnet', routerId, subnet.id as string], user);
    expect((await ok('GET', `/ports?device_id=${routerId}&device_owner=network:router_interface`, user.token)).ports).toEqual([]);
    await openstack(['floating', 'ip', 'delete', address], user);
    await openstack(['port', 'delete', port.id as string], user);
    await openstack(['router', 'delete', routerId], user);
    await openstack(['subnet', 'delete', subnet.id as string], user);
    await openstack(['network', 'delete', net], user);
    // The floating IP's and the gateway's addresses are free again.
    expect((await extPorts()).length).toBe(extPortsAtStart);
    expect([await used(user, 'port'), await used(user, 'floatingip'), await used(user, 'router')]).toEqual(usedAtStart);
    expectNeutronError(await call('GET', `/floatingips/${fip.id}`, user.token), 404, 'FloatingIPNotFound');
  });

  it('refuses floating IPs that cannot be made, leaving no port behind', async () => {
    const before = (await extPorts()).length;
    const { networkId } = await tenantNetwork(user, '10.62.0.0/24');
    const [portsUsed, fipsUsed] = [await used(user, 'port'), await used(user, 'floatingip')];
    expectNeutronError(await call('POST', '/floatingips', user.token, { floatingip: { floating_network_id: networkId } }), 400, 'BadRequestNotExternal');
    expectNeutronError(await call('POST', '/floatingips', user.token, { floatingip: { floating_network_id: randomUUID() } }), 404, 'NetworkNotFound');
    const bare = (await ok('POST', '/networks', admin, { network: { name: name('bare-ext'), 'router:external': true } })).network;
    expectNeutronError(await call('POST', '/floatingips', user.token, { floatingip: { floating_network_id: bare.id } }), 400, 'BadFloatingIpRequest', /does not contain any IPv4 subnet/);
    await ok('DELETE', `/networks/${bare.id}`, admin);
    expectNeutronError(await call('POST', '/floatingips', user.token, { floatingip: {} }), 400, 'HTTPBadRequest');
    expectNeutronError(await call('POST', '/floatingips', user.token, { floatingip: { floating_network_id: extNet, bogus: 1 } }), 400, 'HTTPBadRequest');
    // Choosing the address is the admin's (Neutron's policy).
    expectNeutronError(
      await call('POST', '/floatingips', user.token, { floatingip: { floating_network_id: extNet, floating_ip_address: '198.51.100.15' } }),
      403,
      'NotAuthorized',
    );
    const fip = (await ok('POST', '/floatingips', admin, { floatingip: { floating_network_id: extNet, floating_ip_address: '198.51.100.15' } })).floatingip;
    expect(fip.floating_ip_address).toBe('198.51.100.15');
    const afterOne = (await extPorts()).length;
    expect(afterOne).toBe(before + 1);
    expectNeutronError(
      await call('POST', '/floatingips', admin, { floatingip: { floating_network_id: extNet, floating_ip_address: '198.51.100.15' } }),
      409,
      'IpAddressAlreadyAllocated',
    );
    expectNeutronError(
      await call('POST', '/floatingips', admin, { floatingip: { floating_network_id: extNet, floating_ip_address: '203.0.113.9' } }),
      400,
      'InvalidIpForNetwork',
    );
    expectNeutronError(
      await call('POST', '/floatingips', admin, { floatingip: { floating_network_id: extNet, floating_ip_address: '198.51.100.1' } }),
      409,
      'IpAddressAlreadyAllocated',
    );
    // An association refused at create makes nothing either.
    expectNeutronError(
      await call('POST', '/floatingips', user.token, { floatingip: { floating_network_id: extNet, port_id: randomUUID() } }),
      404,
      'PortNotFound',
    );
    expect((await extPorts()).length).toBe(afterOne);
    expect([await used(user, 'port'), await used(user, 'floatingip')]).toEqual([portsUsed, fipsUsed]);
    await ok('DELETE', `/floatingips/${fip.id}`, admin);
    expectNeutronError(await call('DELETE', `/floatingips/${fip.id}`, admin), 404, 'FloatingIPNotFound');
    expect((await extPorts()).length).toBe(before);
  });

  it('associates only through a router with an interface on the port subnet and a gateway on the external network', async () => {
    const { networkId, subnetId } = await tenantNetwork(user, '10.63.0.0/24');
    const { port } = await ok('POST', '/ports', user.token, { port: { network_id: networkId, name: name('port') } });
    const fip = (await ok('POST', '/floatingips', user.token, { floatingip: { floating_network_id: extNet } })).floatingip;
    const associate = (portId: string | null, token = user.token, fixed?: string) =>
      call('PUT', `/floatingips/${fip.id}`, token, { floatingip: { port_id: portId, ...(fixed && { fixed_ip_address: fixed }) } });

    // No router at all, then a router with the interface but no gateway: 404 (OSC then tries the next port).
    expectNeutronError(await associate(port.id), 404, 'ExternalGatewayForFloatingIPNotFound', new RegExp(subnetId));
    const { router } = await ok('POST', '/routers', user.token, { router: { name: name('router') } });
    const added = await ok('PUT', `/routers/${router.id}/add_router_interface`, user.token, { subnet_id: subnetId });
    expect(added).toEqual({
      id: router.id, tenant_id: user.projectId, project_id: user.projectId, port_id: expect.any(String),
      subnet_id: subnetId, subnet_ids: [subnetId], network_id: networkId,
    });
    expectNeutronError(await associate(port.id), 404, 'ExternalGatewayForFloatingIPNotFound');
    // A gateway only on an external network.
    expectNeutronError(
      await call('PUT', `/routers/${router.id}`, user.token, { router: { external_gateway_info: { network_id: networkId } } }),
      400,
      'BadRouterRequest',
      /is not an external network/,
    );
    await ok('PUT', `/routers/${router.id}`, user.token, { router: { external_gateway_info: { network_id: extNet } } });

    // Another project's port does not exist for this one; a fixed IP the port lacks is a 400.
    const otherNet = await tenantNetwork(other, '10.64.0.0/24');
    const { port: otherPort } = await ok('POST', '/ports', other.token, { port: { network_id: otherNet.networkId } });
    expectNeutronError(await associate(otherPort.id), 404, 'PortNotFound');
    expectNeutronError(await associate(port.id, user.token, '10.63.0.250'), 400, 'BadFloatingIpRequest', /does not have fixed ip/);

    const done = await associate(port.id);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.floatingip).toMatchObject({ port_id: port.id, router_id: router.id, status: 'ACTIVE' });
    // A second floating IP for the same fixed IP: 409.
    const second = (await ok('POST', '/floatingips', user.token, { floatingip: { floating_network_id: extNet } })).floatingip;
    expectNeutronError(
      await call('PUT', `/floatingips/${second.id}`, user.token, { floatingip: { port_id: port.id } }),
      409,
      'FloatingIPPortAlreadyAssociated',
    );

    // A router with an interface is in use; the interface goes only once the floating IP has let go.
    expectNeutronError(await call('DELETE', `/routers/${router.id}`, user.token), 409, 'RouterInUse');
    // Deleting the port disassociates its floating IP (as Neutron does).
    await ok('DELETE', `/ports/${port.id}`, user.token);
    expect((await ok('GET', `/floatingips/${fip.id}`, user.token)).floatingip).toMatchObject({ port_id: null, status: 'DOWN' });

    expectNeutronError(await call('PUT', `/routers/${router.id}/remove_router_interface`, user.token, {}), 400, 'BadRouterRequest');
    expectNeutronError(
      await call('PUT', `/routers/${router.id}/remove_router_interface`, user.token, { subnet_id: otherNet.subnetId }),
      404,
      'RouterInterfaceNotFoundForSubnet',
    );
    expectNeutronError(
      await call('PUT', `/routers/${router.id}/remove_router_interface`, user.token, { port_id: randomUUID() }),
      404,
      'RouterInterfaceNotFound',
    );
    const removed = await ok('PUT', `/routers/${router.id}/remove_router_interface`, user.token, { subnet_id: subnetId });
    expect(removed).toMatchObject({ id: router.id, port_id: added.port_id, subnet_id: subnetId });
    expectNeutronError(await call('GET', `/ports/${added.port_id}`, user.token), 404, 'PortNotFound');

    const gatewayPort = (await ok('GET', `/routers/${router.id}`, user.token)).router.external_gateway_info.external_fixed_ips[0].ip_address;
    await ok('DELETE', `/routers/${router.id}`, user.token);
    expect((await extPorts()).some((p) => p.fixed_ips.some((ip) => ip.ip_address === gatewayPort))).toBe(false);
    await ok('DELETE', `/floatingips/${fip.id}`, user.token);
    await ok('DELETE', `/floatingips/${second.id}`, user.token);
  });

  it('lets racing associations and deletes win exactly once', async () => {
    const { networkId, subnetId } = await tenantNetwork(user, '10.66.0.0/24');
    const { router } = await ok('POST', '/routers', user.token, { router: { name: name('router'), external_gateway_info: { network_id: extNet } } });
    await ok('PUT', `/routers/${router.id}/add_router_interface`, user.token, { subnet_id: subnetId });
    const { port } = await ok('POST', '/ports', user.token, { port: { network_id: networkId } });
    const fipsUsed = await used(user, 'floatingip');
    const extBefore = (await extPorts()).length;
    const fips = await Promise.all([1, 2, 3].map(async () => (await ok('POST', '/floatingips', user.token, { floatingip: { floating_network_id: extNet } })).floatingip));
    expect(new Set(fips.map((f) => f.floating_ip_address)).size).toBe(3);

    // Three floating IPs for one fixed IP at once: one wins, the others get Neutron's 409.
    const results = await Promise.all(fips.map((f) => call('PUT', `/floatingips/${f.id}`, user.token, { floatingip: { port_id: port.id } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    for (const r of results.filter((r) => r.status === 409)) expect(r.body.NeutronError.type).toMatch(/FloatingIPPortAlreadyAssociated|ConcurrentModification/);
    const associated = (await ok('GET', `/floatingips?port_id=${port.id}`, user.token)).floatingips;
    expect(associated).toHaveLength(1);

    // One floating IP deleted three times at once: its address and quota come back once.
    const victim = fips[0];
    const deletes = await Promise.all([1, 2, 3].map(() => call('DELETE', `/floatingips/${victim.id}`, user.token)));
    expect(deletes.filter((r) => r.status === 204)).toHaveLength(1);
    for (const r of deletes.filter((r) => r.status !== 204)) expect([404, 409]).toContain(r.status);
    for (const f of fips.slice(1)) await ok('DELETE', `/floatingips/${f.id}`, user.token);
    expect(await used(user, 'floatingip')).toBe(fipsUsed);
    expect((await extPorts()).length).toBe(extBefore);

    await ok('PUT', `/routers/${router.id}/remove_router_interface`, user.token, { subnet_id: subnetId });
    await ok('DELETE', `/routers/${router.id}`, user.token);
  });

  it('refuses router interfaces Neutron refuses', async () => {
    const { router } = await ok('POST', '/routers', user.token, { router: { name: name('router') } });
    const { networkId, subnetId } = await tenantNetwork(user, '10.65.0.0/24');
    const { subnet: noGateway } = await ok('POST', '/subnets', user.token, {
      subnet: { network_id: networkId, ip_version: 4, cidr: '10.65.1.0/24', gateway_ip: null },
    });
    const addInterface = (body: unknown, token = user.token) => call('PUT', `/routers/${router.id}/add_router_interface`, token, body);
    expectNeutronError(await addInterface({ subnet_id: noGateway.id }), 400, 'BadRouterRequest', /must have a gateway IP/);
    expectNeutronError(await addInterface({}), 400, 'BadRouterRequest');
    expectNeutronError(await addInterface({ subnet_id: subnetId, port_id: randomUUID() }), 400, 'BadRouterRequest');
    expectNeutronError(await addInterface({ subnet_id: randomUUID() }), 404, 'SubnetNotFound');
    expectNeutronError(await addInterface({ subnet_id: subnetId }, other.token), 404, 'RouterNotFound');
    await ok('PUT', `/routers/${router.id}/add_router_interface`, user.token, { subnet_id: subnetId });
    expectNeutronError(await addInterface({ subnet_id: subnetId }), 400, 'BadRouterRequest', /already has a port on subnet/);

    // An unbound port of the project's becomes an interface; a bound one is in use.
    const { port } = await ok('POST', '/ports', user.token, { port: { network_id: networkId, fixed_ips: [{ subnet_id: noGateway.id }] } });
    const byPort = await ok('PUT', `/routers/${router.id}/add_router_interface`, user.token, { port_id: port.id });
    expect(byPort).toMatchObject({ port_id: port.id, subnet_id: noGateway.id });
    expect((await ok('GET', `/ports/${port.id}`, user.token)).port).toMatchObject({ device_id: router.id, device_owner: 'network:router_interface' });
    expectNeutronError(await addInterface({ port_id: port.id }), 409, 'PortInUse');

    // Admin-only gateway attributes, and bodies Neutron does not know.
    expectNeutronError(
      await call('PUT', `/routers/${router.id}`, user.token, { router: { external_gateway_info: { network_id: extNet, enable_snat: false } } }),
      403,
      'NotAuthorized',
    );
    expectNeutronError(await call('PUT', `/routers/${router.id}`, user.token, { router: { routes: [{ destination: '0.0.0.0/0', nexthop: '10.65.0.9' }] } }), 400, 'HTTPBadRequest');
    expectNeutronError(await call('POST', '/routers', user.token, { router: { name: 'x', bogus: true } }), 400, 'HTTPBadRequest');

    const before = (await extPorts()).length;
    expectNeutronError(
      await call('POST', '/routers', user.token, { router: { name: name('router'), external_gateway_info: { network_id: networkId } } }),
      400,
      'BadRouterRequest',
    );
    expect((await extPorts()).length).toBe(before);

    for (const subnet of [subnetId, noGateway.id]) await ok('PUT', `/routers/${router.id}/remove_router_interface`, user.token, { subnet_id: subnet });
    await ok('DELETE', `/routers/${router.id}`, user.token);
  });

  it('gives a router a gateway at create, and lets the admin choose its address and SNAT', async () => {
    const before = (await extPorts()).length;
    const { router } = await ok('POST', '/routers', admin, {
      router: {
        name: name('router'),
        external_gateway_info: { network_id: extNet, enable_snat: false, external_fixed_ips: [{ ip_address: '198.51.100.19' }] },
      },
    });
    expect(router.external_gateway_info).toEqual({
      network_id: extNet, enable_snat: false, external_fixed_ips: [{ subnet_id: expect.any(String), ip_address: '198.51.100.19' }],
    });
    expect((await extPorts()).length).toBe(before + 1);
    const unset = await ok('PUT', `/routers/${router.id}`, admin, { router: { external_gateway_info: null } });
    expect(unset.router.external_gateway_info).toBeNull();
    expect((await extPorts()).length).toBe(before);
    await ok('DELETE', `/routers/${router.id}`, admin);
  });
});
