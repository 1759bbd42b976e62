import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, issueToken, openstack, openstackJson, waitFor } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * The Neutron subset through the real `openstack` CLI and raw HTTP: networks, subnets, ports,
 * address allocation under racing creates, Neutron's error bodies, and the ports Nova makes and
 * removes for the servers it boots.
 */

type Response = Awaited<ReturnType<typeof api>>;
const NET = '/networking/v2.0';

function expectNeutronError(res: Response, status: number, type: string, message?: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toEqual({ NeutronError: { type, message: expect.any(String), detail: '' } });
  if (message) expect(res.body.NeutronError.message).toMatch(message);
}

describe('network API', () => {
  let admin: string;
  let user: ProjectMember;
  let other: ProjectMember;
  let imageId: string;

  beforeAll(async () => {
    admin = await issueToken();
    user = await createProjectMember(uniqueName('netuser'), admin);
    other = await createProjectMember(uniqueName('netother'), admin);
    imageId = await uploadTestImage(uniqueName('net-image'), admin);
  });

  const portsUsed = async (who: ProjectMember) => (await api('GET', `${NET}/quotas/${who.projectId}/details`, { token: who.token })).body.quota.port.used as number;

  it('creates, lists, shows, updates and deletes networks and subnets with the CLI', async () => {
    const name = uniqueName('net');
    const network = await openstackJson(['network', 'create', name], user);
    expect(network).toMatchObject({ name, status: 'ACTIVE', shared: false, 'router:external': false, mtu: 1450, admin_state_up: true });
    const subnet = await openstackJson(['subnet', 'create', '--network', name, '--subnet-range', '192.168.40.0/24', '--dns-nameserver', '192.168.40.53', `${name}-sub`], user);
    expect(subnet).toMatchObject({ cidr: '192.168.40.0/24', gateway_ip: '192.168.40.1', enable_dhcp: true, allocation_pools: [{ start: '192.168.40.2', end: '192.168.40.254' }] });
    const listed = await openstackJson<{ Name: string; Subnets: string[] }[]>(['network', 'list', '--name', name], user);
    expect(listed).toEqual([expect.objectContaining({ Name: name, Subnets: [subnet.id] })]);
    // The DHCP server's address is a port of the network.
    const dhcp = await openstackJson<{ 'Fixed IP Addresses': unknown }[]>(['port', 'list', '--network', name, '--device-owner', 'network:dhcp'], user);
    expect(dhcp).toHaveLength(1);
    await openstack(['network', 'set', '--name', `${name}-renamed`, '--disable', name], user);
    expect(await openstackJson(['network', 'show', `${name}-renamed`], user)).toMatchObject({ admin_state_up: false, status: 'DOWN' });
    // Other projects do not see it.
    expect((await api('GET', `${NET}/networks/${network.id}`, { token: other.token })).status).toBe(404);
    await openstack(['subnet', 'delete', subnet.id as string], user);
    await openstack(['network', 'delete', network.id as string], user);
    expect((await api('GET', `${NET}/networks/${network.id}`, { token: user.token })).status).toBe(404);
  });

  it('gives every port its own address, also when creates race, and frees each address exactly once', async () => {
    const { body } = await api('POST', `${NET}/networks`, { token: user.token, body: { network: { name: uniqueName('race') } } });
    const networkId = body.network.id;
    // A /28 with the gateway and the DHCP port: 12 addresses left.
    const sub = await api('POST', `${NET}/subnets`, { token: user.token, body: { subnet: { network_id: networkId, ip_version: 4, cidr: '10.77.0.0/28' } } });
    expect(sub.status).toBe(201);
    const before = await portsUsed(user);
    const create = () => api('POST', `${NET}/ports`, { token: user.token, body: { port: { network_id: networkId } } });
    const results = await Promise.all(Array.from({ length: 18 }, create));
    const made = results.filter((r) => r.status === 201);
    expect(made).toHaveLength(12);
    for (const r of results.filter((r) => r.status !== 201)) expectNeutronError(r, 409, 'IpAddressGenerationFailure');
    const addresses = made.map((r) => r.body.port.fixed_ips[0].ip_address);
    expect(new Set(addresses).size).toBe(12);
    expect(addresses.every((a: string) => /^10\.77\.0\.([2-9]|1[0-4])$/.test(a))).toBe(true);
    expect(await portsUsed(user)).toBe(before + 12);
    // A taken address asked for by name is a 409; a deleted port's address is free again.
    const taken = await api('POST', `${NET}/ports`, { token: user.token, body: { port: { network_id: networkId, fixed_ips: [{ ip_address: addresses[0] }] } } });
    expectNeutronError(taken, 409, 'IpAddressAlreadyAllocated');
    await Promise.all(made.map((r) => api('DELETE', `${NET}/ports/${r.body.port.id}`, { token: user.token })));
    // A second delete of the same port finds nothing and frees nothing.
    expect((await api('DELETE', `${NET}/ports/${made[0].body.port.id}`, { token: user.token })).status).toBe(404);
    expect(await portsUsed(user)).toBe(before);
    const again = await api('POST', `${NET}/ports`, { token: user.token, body: { port: { network_id: networkId, fixed_ips: [{ ip_address: addresses[0] }] } } });
    expect(again.status).toBe(201);
    // A network with a port in use cannot go; without it, it can (its DHCP port goes with it).
    expectNeutronError(await api('DELETE', `${NET}/networks/${networkId}`, { token: user.token }), 409, 'NetworkInUse');
    await api('DELETE', `${NET}/ports/${again.body.port.id}`, { token: user.token });
    expect((await api('DELETE', `${NET}/networks/${networkId}`, { token: user.token })).status).toBe(204);
  });

  it('answers bad input with Neutron error bodies and leaves nothing half-made', async () => {
    const { body } = await api('POST', `${NET}/networks`, { token: user.token, body: { network: { name: uniqueName('bad') } } });
    const networkId = body.network.id;
    const subnet = (cidr: string, extra: Record<string, unknown> = {}) =>
      api('POST', `${NET}/subnets`, { token: user.token, body: { subnet: { network_id: networkId, ip_version: 4, cidr, ...extra } } });
    expectNeutronError(await subnet('10.1.2.300/24'), 400, 'InvalidInput');
    expectNeutronError(await subnet('10.1.2.5/24'), 400, 'InvalidInput', /recommended/);
    expectNeutronError(await subnet('10.1.2.0/24', { gateway_ip: '10.9.9.9' }), 400, 'InvalidInput');
    expectNeutronError(await subnet('10.1.2.0/24', { allocation_pools: [{ start: '10.1.3.1', end: '10.1.3.9' }] }), 400, 'InvalidAllocationPool');
    expectNeutronError(await subnet('10.1.2.0/24', { ip_version: 6 }), 400, 'InvalidInput');
    expectNeutronError(await subnet('10.1.2.0/24', { colour: 'blue' }), 400, 'HTTPBadRequest');
    const good = await subnet('10.1.2.0/24');
    expect(good.status).toBe(201);
    expectNeutronError(await subnet('10.1.2.128/25'), 400, 'InvalidInput', /overlaps/);
    const port = (fixed_ips: unknown) => api('POST', `${NET}/ports`, { token: user.token, body: { port: { network_id: networkId, fixed_ips } } });
    const used = await portsUsed(user);
    expectNeutronError(await port([{ ip_address: '10.9.9.9' }]), 400, 'InvalidInput');
    expectNeutronError(await port([{ subnet_id: good.body.subnet.id, ip_address: '10.1.2.255' }]), 400, 'InvalidIpForSubnet');
    expectNeutronError(await port([{ subnet_id: good.body.subnet.id, ip_address: '10.1.2.1' }]), 400, 'InvalidIpForSubnet');
    expectNeutronError(await port([{ ip_address: 'not-an-ip' }]), 400, 'HTTPBadRequest');
    expect(await portsUsed(user)).toBe(used);
    // Only admins make shared or external networks; another project's network does not exist for a user.
    expectNeutronError(await api('POST', `${NET}/networks`, { token: user.token, body: { network: { shared: true } } }), 403, 'NotAuthorized');
    expectNeutronError(await api('POST', `${NET}/ports`, { token: other.token, body: { port: { network_id: networkId } } }), 404, 'NetworkNotFound');
    expectNeutronError(await api('GET', `${NET}/networks?colour=blue`, { token: user.token }), 400, 'HTTPBadRequest');
    await api('DELETE', `${NET}/networks/${networkId}`, { token: user.token });
  });

  it('lists exactly the implemented extensions and the quotas (`openstack quota show`)', async () => {
    const { body } = await api('GET', `${NET}/extensions`, { token: user.token });
    const aliases = body.extensions.map((e: { alias: string }) => e.alias);
    expect(aliases).toEqual(expect.arrayContaining(['router', 'external-net', 'security-group', 'binding', 'port-security', 'quotas']));
    expectNeutronError(await api('GET', `${NET}/extensions/tag-ports-during-bulk-creation`, { token: user.token }), 404, 'HTTPNotFound');
    const quota = await api('GET', `${NET}/quotas/${user.projectId}`, { token: user.token });
    expect(quota.body.quota).toEqual({ network: 100, subnet: 100, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100 });
    // `openstack quota show` reads Nova's quota set and Neutron's together.
    const shown = await openstackJson<Record<string, unknown>>(['quota', 'show'], user);
    expect(shown).toMatchObject({ networks: 100, subnets: 100, ports: 500, routers: 10, 'floating-ips': 50, 'secgroups': 10, 'secgroup-rules': 100, instances: 10, cores: 20, ram: 51200 });
    expect((await api('GET', `/compute/v2.1/os-quota-sets/${other.projectId}`, { token: user.token })).status).toBe(403);
    const detail = await api('GET', `/compute/v2.1/os-quota-sets/${user.projectId}/detail`, { token: user.token });
    expect(detail.body.quota_set.instances).toEqual({ in_use: expect.any(Number), limit: 10, reserved: 0 });
  });

  it('boots servers on a network, a fixed IP and a port, shows their addresses, and removes the ports it made', async () => {
    const net = uniqueName('srvnet');
    const network = await openstackJson(['network', 'create', net], user);
    await openstackJson(['subnet', 'create', '--network', net, '--subnet-range', '192.168.41.0/24', `${net}-sub`], user);
    const mine = await openstackJson(['port', 'create', '--network', net, `${net}-port`], user);
    const before = await portsUsed(user);

    // The CLI sends the group's id; Nova shows its name.
    const onNetwork = await openstackJson(['server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--nic', `net-id=${network.id},v4-fixed-ip=192.168.41.77`, '--security-group', 'default', '--wait', uniqueName('vm')], user);
    expect(onNetwork.addresses).toEqual({ [net]: ['192.168.41.77'] });
    expect(onNetwork.security_groups).toEqual([{ name: 'default' }]);
    const ports = await openstackJson<{ ID: string; 'Fixed IP Addresses': unknown }[]>(['port', 'list', '--server', onNetwork.id as string], user);
    expect(ports).toHaveLength(1);
    const withPort = await openstackJson(['server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--nic', `port-id=${mine.id}`, '--wait', uniqueName('vm')], user);
    const portIp = (mine.fixed_ips as { ip_address: string }[])[0].ip_address;
    expect(withPort.addresses).toEqual({ [net]: [portIp] });
    expect(await openstackJson(['port', 'show', mine.id as string], user)).toMatchObject({ device_id: withPort.id });

    // The same fixed IP again, another project's port, a bound port: Nova's errors, and no port left over.
    const srv = (networks: unknown, token = user.token) =>
      api('POST', '/compute/v2.1/servers', { token, body: { server: { name: uniqueName('bad'), imageRef: imageId, flavorRef: '1', networks } } });
    const taken = await srv([{ uuid: network.id, fixed_ip: '192.168.41.77' }]);
    expect(taken.status, JSON.stringify(taken.body)).toBe(400);
    expect(taken.body.badRequest.message).toMatch(/already in use/);
    expect((await srv([{ port: mine.id }], other.token)).body.badRequest.message).toMatch(/could not be found/);
    expect((await srv([{ port: mine.id }])).status).toBe(409);
    expect((await srv([{ uuid: '00000000-0000-4000-8000-000000000000' }])).status).toBe(400);
    expect(await portsUsed(user)).toBe(before + 1);

    await openstack(['server', 'delete', '--wait', onNetwork.id as string, withPort.id as string], user);
    // Nova's own port went with its server; the user's port stays, unbound.
    expect(await portsUsed(user)).toBe(before);
    await waitFor('the port to be unbound', async () => (await openstackJson(['port', 'show', mine.id as string], user)).device_id === '');
    await openstack(['port', 'delete', mine.id as string], user);
    await openstack(['network', 'delete', net], user);
  });

  it('boots on the shared network when none is given, shows a floating IP beside the fixed one, and a project with its own network must choose', async () => {
    const server = await openstackJson(['server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--wait', uniqueName('vm')], other);
    expect(Object.keys(server.addresses as object)).toEqual(['shared']);
    // The fresh cloud's router1 joins `shared` to `public`: a floating IP can point at the server.
    const fip = await openstackJson(['floating', 'ip', 'create', 'public'], other);
    await openstack(['server', 'add', 'floating', 'ip', server.id as string, fip.floating_ip_address as string], other);
    const shown = await openstackJson(['server', 'show', server.id as string], other);
    expect((shown.addresses as Record<string, string[]>).shared).toEqual([(server.addresses as Record<string, string[]>).shared[0], fip.floating_ip_address]);
    const raw = await api('GET', `/compute/v2.1/servers/${server.id}`, { token: other.token });
    expect(raw.body.server.addresses.shared.map((a: Record<string, string>) => a['OS-EXT-IPS:type'])).toEqual(['fixed', 'floating']);
    await openstack(['server', 'remove', 'floating', 'ip', server.id as string, fip.floating_ip_address as string], other);
    expect((await openstackJson(['server', 'show', server.id as string], other)).addresses).toEqual(server.addresses);
    await openstack(['floating', 'ip', 'delete', fip.id as string], other);
    const net = uniqueName('own');
    await openstackJson(['network', 'create', net], other);
    const ambiguous = await api('POST', '/compute/v2.1/servers', { token: other.token, body: { server: { name: 'x', imageRef: imageId, flavorRef: '1' } } });
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.conflictingRequest.message).toMatch(/Multiple possible networks/);
    await openstack(['server', 'delete', '--wait', server.id as string], other);
    await openstack(['network', 'delete', net], other);
  });

  afterAll(async () => {
    await api('DELETE', `/image/v2/images/${imageId}`, { token: admin });
  });
});
