import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, issueToken, openstack, openstackJson, waitFor } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * Nova's network proxy APIs (functions/api/compute/network-proxy/) over raw HTTP at 2.35 and 2.36:
 * security groups and rules, a server's groups and the add/removeSecurityGroup actions (also
 * through `openstack server add/remove security group`), floating IPs and pools with the
 * add/removeFloatingIp actions, networks; nova-network's calls are 410 at every version.
 */
type Response = Awaited<ReturnType<typeof api>>;
const C = '/compute/v2.1';
const V235 = { 'OpenStack-API-Version': 'compute 2.35' };
const V236 = { 'OpenStack-API-Version': 'compute 2.36' };

let admin: string;
let user: ProjectMember;
let imageId: string;
let server: string;

const at = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });
const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = V235, token = user.token) =>
  api(method, `${C}${path}`, { token, body, headers });
function expectFault(res: Response, status: number, fault: string, message?: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body[fault]).toMatchObject({ code: status, message: expect.any(String) });
  if (message) expect(res.body[fault].message).toMatch(message);
}
const serverPorts = async () =>
  (await api('GET', `/networking/v2.0/ports?device_id=${server}`, { token: user.token })).body.ports as { id: string; security_groups: string[] }[];

beforeAll(async () => {
  admin = await issueToken();
  user = await createProjectMember(uniqueName('proxyuser'), admin);
  imageId = await uploadTestImage(uniqueName('proxy-image'), admin);
  // No networks asked for: the server's one port is on the cloud's `shared` network.
  const res = await call('POST', '/servers', { server: { name: uniqueName('proxyvm'), imageRef: imageId, flavorRef: '1' } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  server = res.body.server.id;
  await waitFor('server ACTIVE', async () => (await call('GET', `/servers/${server}`)).body.server.status === 'ACTIVE', 60_000);
});

afterAll(async () => {
  await call('DELETE', `/servers/${server}`).catch(() => undefined);
  await openstack(['image', 'delete', imageId]).catch(() => undefined);
});

describe('versions', () => {
  it.each(['/os-security-groups', '/os-floating-ips', '/os-floating-ip-pools', '/os-networks', '/os-tenant-networks'])('%s answers at 2.35, 404 from 2.36', async (path) => {
    expect((await call('GET', path)).status).toBe(200);
    expectFault(await call('GET', path, undefined, V236), 404, 'itemNotFound', /could not be found/);
  });

  it("nova-network's calls are 410 Gone at every version", async () => {
    for (const headers of [at('2.1'), V236, at('2.100')]) {
      expect((await call('GET', '/os-fixed-ips/10.0.0.3', undefined, headers, admin)).status).toBe(410);
      expect((await call('POST', '/os-fixed-ips/10.0.0.3/action', { reserve: null }, headers, admin)).status).toBe(410);
      expect((await call('GET', '/os-floating-ips-bulk', undefined, headers, admin)).status).toBe(410);
      expect((await call('POST', '/os-networks', { network: { label: 'x' } }, headers, admin)).status).toBe(410);
      expect((await call('POST', '/os-networks/add', { id: null }, headers, admin)).status).toBe(410);
      expect((await call('DELETE', `/os-tenant-networks/${randomUUID()}`, undefined, headers)).status).toBe(410);
    }
    expect((await call('GET', '/os-fixed-ips/10.0.0.3', undefined, V235, admin)).body).toEqual({
      computeFault: { code: 410, message: 'This resource is no longer available.  No forwarding address is given.' },
    });
  });
});

describe('os-security-groups and os-security-group-rules', () => {
  let group: { id: string; name: string; tenant_id: string };

  it('creates, shows, lists, updates a group; ids must be uuids', async () => {
    const created = await call('POST', '/os-security-groups', { security_group: { name: ' a group ', description: 'd' } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    group = created.body.security_group;
    expect(group).toEqual({ id: expect.any(String), name: ' a group ', description: 'd', tenant_id: user.projectId, rules: [] });
    expect((await call('GET', `/os-security-groups/${group.id}`)).body.security_group).toEqual(group);
    const list = (await call('GET', '/os-security-groups')).body.security_groups as { name: string }[];
    expect(list.map((g) => g.name)).toEqual([' a group ', 'default']);
    const updated = await call('PUT', `/os-security-groups/${group.id}`, { security_group: { name: 'g2', description: 'd2' } });
    expect(updated.body.security_group).toMatchObject({ id: group.id, name: 'g2', description: 'd2' });
    group = updated.body.security_group;

    expectFault(await call('GET', '/os-security-groups/1234'), 400, 'badRequest', /should be uuid/);
    expectFault(await call('GET', `/os-security-groups/${randomUUID()}`), 404, 'itemNotFound');
    expectFault(await call('PUT', `/os-security-groups/${randomUUID()}`, { security_group: { name: 'x', description: 'y' } }), 404, 'itemNotFound');
    expectFault(await call('POST', '/os-security-groups', { security_group: { name: 'x'.repeat(256), description: '' } }), 400, 'badRequest');
    expectFault(await call('POST', '/os-security-groups', { security_group: { name: 'no-description' } }), 400, 'badRequest');
  });

  it('adds ingress rules with Nova checks; a group rule names its source', async () => {
    const rule = await call('POST', '/os-security-group-rules', {
      security_group_rule: { parent_group_id: group.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.2.3.124/24' },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(200);
    expect(rule.body.security_group_rule).toEqual({
      id: expect.any(String), parent_group_id: group.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, group: {}, ip_range: { cidr: '10.2.3.124/24' },
    });
    const icmp = await call('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: group.id, ip_protocol: 'icmp', from_port: -1, to_port: -1 } });
    expect(icmp.status, JSON.stringify(icmp.body)).toBe(200);
    expect(icmp.body.security_group_rule).toMatchObject({ from_port: -1, to_port: -1, ip_range: { cidr: '0.0.0.0/0' } });
    const source = (await call('POST', '/os-security-groups', { security_group: { name: uniqueName('src'), description: '' } })).body.security_group;
    const fromGroup = await call('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: group.id, ip_protocol: 'udp', group_id: source.id } });
    expect(fromGroup.body.security_group_rule).toMatchObject({ from_port: 1, to_port: 65535, group: { name: source.name, tenant_id: user.projectId }, ip_range: {} });
    const shown = (await call('GET', `/os-security-groups/${group.id}`)).body.security_group;
    expect(shown.rules.map((r: { id: string }) => r.id).sort()).toEqual([rule.body.security_group_rule.id, icmp.body.security_group_rule.id, fromGroup.body.security_group_rule.id].sort());

    const bad = (r: Record<string, unknown>) => call('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: group.id, ...r } });
    expectFault(await bad({ ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.2.3.124/24' }), 400, 'badRequest', /already exists/);
    expectFault(await bad({ ip_protocol: 'gre', from_port: 22, to_port: 22 }), 400, 'badRequest', /Invalid IP protocol gre/);
    expectFault(await bad({ ip_protocol: 'tcp', from_port: 22, to_port: 21 }), 400, 'badRequest', /Invalid port range 22:21/);
    expectFault(await bad({ ip_protocol: 'tcp', from_port: 22, to_port: 65536 }), 400, 'badRequest', /between 1-65535/);
    expectFault(await bad({ ip_protocol: 'tcp', from_port: 'a', to_port: 22 }), 400, 'badRequest', /must be integers/);
    expectFault(await bad({ ip_protocol: 'tcp', from_port: 1, to_port: 2, cidr: 'nonsense' }), 400, 'badRequest', /not a valid IP network/);
    expectFault(await bad({ ip_protocol: 'tcp', from_port: 1, to_port: 2, cidr: '10.0.0.0/0' }), 400, 'badRequest', /Bad prefix/);
    expectFault(await bad({ cidr: '10.0.0.0/8' }), 400, 'badRequest', /Not enough parameters/);
    expectFault(await bad({ ip_protocol: 'tcp', from_port: 1, to_port: 2, group_id: randomUUID() }), 404, 'itemNotFound');
    expectFault(await call('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: randomUUID(), ip_protocol: 'tcp', from_port: 1, to_port: 2 } }), 404, 'itemNotFound');
    expectFault(await call('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: 'not-a-uuid' } }), 400, 'badRequest');

    expect((await call('DELETE', `/os-security-group-rules/${icmp.body.security_group_rule.id}`)).status).toBe(202);
    expectFault(await call('DELETE', `/os-security-group-rules/${icmp.body.security_group_rule.id}`), 404, 'itemNotFound');
    expectFault(await call('DELETE', '/os-security-group-rules/77'), 400, 'badRequest', /should be uuid/);
    // Deleting the source group takes the rules that name it.
    expect((await call('DELETE', `/os-security-groups/${source.id}`)).status).toBe(202);
    const after = (await call('GET', `/os-security-groups/${group.id}`)).body.security_group;
    expect(after.rules.map((r: { id: string }) => r.id)).toEqual([rule.body.security_group_rule.id]);
  });

  it("puts groups on the server's ports and takes them off (addSecurityGroup / removeSecurityGroup)", async () => {
    expect((await call('POST', `/servers/${server}/action`, { addSecurityGroup: { name: group.name } })).status).toBe(202);
    expect((await serverPorts())[0].security_groups).toContain(group.id);
    const listed = (await call('GET', `/servers/${server}/os-security-groups`)).body.security_groups as { name: string; rules: unknown[] }[];
    expect(listed.map((g) => g.name)).toEqual(['default', 'g2']);
    expect(listed[1].rules).toHaveLength(1);
    expect((await call('GET', `/servers/${server}`)).body.server.security_groups).toEqual([{ name: 'default' }, { name: 'g2' }]);
    // In use by the server's port: Nova's 400 for Neutron's 409.
    expectFault(await call('DELETE', `/os-security-groups/${group.id}`), 400, 'badRequest', /in use/);

    expectFault(await call('POST', `/servers/${server}/action`, { addSecurityGroup: { name: 'nope' } }), 404, 'itemNotFound', /not found for project/);
    expectFault(await call('POST', `/servers/${server}/action`, { addSecurityGroup: { name: ' ' } }), 400, 'badRequest', /cannot be empty/);
    expectFault(await call('POST', `/servers/${server}/action`, { addSecurityGroup: {} }), 400, 'badRequest');
    expectFault(await call('POST', `/servers/${randomUUID()}/action`, { addSecurityGroup: { name: 'g2' } }), 404, 'itemNotFound');

    // The server-side calls are not proxies: they answer at every version.
    expect((await call('POST', `/servers/${server}/action`, { removeSecurityGroup: { name: group.id } }, at('2.100'))).status).toBe(202);
    expect((await serverPorts())[0].security_groups).not.toContain(group.id);
    expectFault(await call('POST', `/servers/${server}/action`, { removeSecurityGroup: { name: 'g2' } }), 404, 'itemNotFound', /not associated/);
    expect((await call('GET', `/servers/${server}/os-security-groups`, undefined, at('2.100'))).body.security_groups.map((g: { name: string }) => g.name)).toEqual(['default']);
    expect((await call('DELETE', `/os-security-groups/${group.id}`)).status).toBe(202);
  });

  it('the default group: listed, and only an admin may delete it (Nova 400 otherwise)', async () => {
    const list = (await call('GET', '/os-security-groups')).body.security_groups as { id: string; name: string }[];
    const def = list.find((g) => g.name === 'default')!;
    expectFault(await call('DELETE', `/os-security-groups/${def.id}`), 400, 'badRequest');
  });

  it("lists every project's groups for an admin with all_tenants, and the caller's otherwise", async () => {
    const mine = (await call('GET', '/os-security-groups?all_tenants=1')).body.security_groups as { tenant_id: string }[];
    expect(new Set(mine.map((g) => g.tenant_id))).toEqual(new Set([user.projectId]));
    const all = (await call('GET', '/os-security-groups?all_tenants=1', undefined, V235, admin)).body.security_groups as { tenant_id: string }[];
    expect(all.some((g) => g.tenant_id === user.projectId)).toBe(true);
    expect((await call('GET', '/os-security-groups?limit=1', undefined, V235, admin)).body.security_groups).toHaveLength(1);
    expectFault(await call('GET', '/os-security-groups?limit=-1'), 400, 'badRequest');
  });

  it('removing the last group leaves the server without security_groups; the CLI adds one back', async () => {
    expect((await call('POST', `/servers/${server}/action`, { removeSecurityGroup: { name: 'default' } })).status).toBe(202);
    expect((await call('GET', `/servers/${server}`)).body.server).not.toHaveProperty('security_groups');
    await openstack(['server', 'add', 'security group', server, 'default'], user);
    expect((await serverPorts())[0].security_groups).toHaveLength(1);
    const shown = await openstackJson<{ security_groups: unknown }>(['server', 'show', server], user);
    expect(JSON.stringify(shown.security_groups)).toContain('default');
    await openstack(['server', 'remove', 'security group', server, 'default'], user);
    expect((await serverPorts())[0].security_groups).toEqual([]);
    await openstack(['server', 'add', 'security group', server, 'default'], user);
  }, 180_000);
});

describe('os-floating-ips, os-floating-ip-pools and the floating IP actions', () => {
  it('lists the pools (external networks)', async () => {
    const pools = (await call('GET', '/os-floating-ip-pools')).body.floating_ip_pools as { name: string }[];
    expect(pools).toContainEqual({ name: 'public' });
  });

  it('allocates, shows, lists, associates, disassociates and releases', async () => {
    const made = await call('POST', '/os-floating-ips', { pool: 'public' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const fip = made.body.floating_ip;
    expect(fip).toEqual({ id: expect.any(String), ip: expect.stringMatching(/^203\.0\.113\./), fixed_ip: null, instance_id: null, pool: 'public' });
    expect((await call('GET', `/os-floating-ips/${fip.id}`)).body.floating_ip).toEqual(fip);
    expect((await call('GET', '/os-floating-ips')).body.floating_ips).toContainEqual(fip);
    // No body: the default pool.
    const second = (await api('POST', `${C}/os-floating-ips`, { token: user.token, headers: V235 })).body.floating_ip;
    expect(second.pool).toBe('public');

    expect((await call('POST', `/servers/${server}/action`, { addFloatingIp: { address: fip.ip } })).status).toBe(202);
    const associated = (await call('GET', `/os-floating-ips/${fip.id}`)).body.floating_ip;
    expect(associated).toMatchObject({ instance_id: server, fixed_ip: expect.stringMatching(/^10\.0\./) });
    const addresses = (await call('GET', `/servers/${server}`)).body.server.addresses;
    expect(JSON.stringify(addresses)).toContain(fip.ip);
    // The fixed address holds a floating IP already: Neutron's 409, Nova's 400.
    expectFault(await call('POST', `/servers/${server}/action`, { addFloatingIp: { address: second.ip } }), 400, 'badRequest');
    expectFault(await call('POST', `/servers/${server}/action`, { addFloatingIp: { address: '0.0.0.0' } }), 404, 'itemNotFound', /floating IP not found/);
    expectFault(await call('POST', `/servers/${server}/action`, { addFloatingIp: { address: '' } }), 400, 'badRequest');
    expectFault(await call('POST', `/servers/${server}/action`, { addFloatingIp: { address: fip.ip, fixed_address: '10.9.9.9' } }), 400, 'badRequest', /not assigned/);
    // From 2.44 the actions are gone.
    expectFault(await call('POST', `/servers/${server}/action`, { removeFloatingIp: { address: fip.ip } }, at('2.44')), 404, 'itemNotFound', /no such action: removeFloatingIp/);
    expectFault(await call('POST', `/servers/${server}/action`, { addFloatingIp: { address: fip.ip } }, at('2.44')), 404, 'itemNotFound', /no such action: addFloatingIp/);

    expect((await call('POST', `/servers/${server}/action`, { removeFloatingIp: { address: fip.ip } }, at('2.43'))).status).toBe(202);
    expect((await call('GET', `/os-floating-ips/${fip.id}`)).body.floating_ip.instance_id).toBeNull();
    expectFault(await call('POST', `/servers/${server}/action`, { removeFloatingIp: { address: fip.ip } }), 409, 'conflictingRequest', /not associated/);
    expectFault(await call('POST', `/servers/${server}/action`, { removeFloatingIp: { address: '0.0.0.0' } }), 404, 'itemNotFound');

    expect((await call('DELETE', `/os-floating-ips/${fip.id}`)).status).toBe(202);
    expect((await call('DELETE', `/os-floating-ips/${second.id}`)).status).toBe(202);
    expectFault(await call('GET', `/os-floating-ips/${fip.id}`), 404, 'itemNotFound', /Floating IP not found for ID/);
    expectFault(await call('DELETE', '/os-floating-ips/1234'), 404, 'itemNotFound');
  });

  it('a pool that does not exist is a 404', async () => {
    expectFault(await call('POST', '/os-floating-ips', { pool: 'no-such-pool' }), 404, 'itemNotFound', /pool not found/);
  });
});

describe('os-networks and os-tenant-networks', () => {
  it("shows the networks the caller sees, in nova-network's shape", async () => {
    const networks = (await call('GET', '/os-networks')).body.networks as Record<string, unknown>[];
    const shared = networks.find((n) => n.label === 'shared')!;
    expect(Object.keys(shared)).toHaveLength(11);
    expect(shared).toMatchObject({ cidr: null, gateway: null });
    expect((await call('GET', `/os-networks/${shared.id}`)).body.network).toEqual(shared);
    const asAdmin = (await call('GET', `/os-networks/${shared.id}`, undefined, V235, admin)).body.network;
    expect(Object.keys(asAdmin)).toHaveLength(32);
    expectFault(await call('GET', `/os-networks/${randomUUID()}`), 404, 'itemNotFound', /Network not found/);

    const tenant = (await call('GET', '/os-tenant-networks')).body.networks;
    expect(tenant).toContainEqual({ id: shared.id, cidr: 'None', label: 'shared' });
    expect((await call('GET', `/os-tenant-networks/${shared.id}`)).body.network).toEqual({ id: shared.id, cidr: 'None', label: 'shared' });
  });
});
