import { beforeAll, describe, expect, it } from 'vitest';
import { api, issueToken, openstack, openstackJson } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * Security groups and rules through the real `openstack` CLI and raw HTTP: the lazily made
 * `default` group, rule create/list/delete as the CLI does them, Neutron's checks and error
 * bodies, quota, and one default group per project however many requests race to make it.
 */

const SG = '/networking/v2.0/security-groups';
const RULES = '/networking/v2.0/security-group-rules';
const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

type Response = Awaited<ReturnType<typeof api>>;
type Rule = Record<string, any>;

/** Neutron's error body: `{"NeutronError": {"type", "message", "detail"}}`, with the status. */
function expectNeutronError(res: Response, status: number, type: string, message?: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toEqual({ NeutronError: { type, message: expect.any(String), detail: expect.any(String) } });
  if (message) expect(res.body.NeutronError.message).toMatch(message);
}

describe('network security groups', () => {
  let admin: string;
  let alice: ProjectMember;
  let bob: ProjectMember;
  let aliceDefault: Record<string, any>;

  const rulePost = (token: string, rule: Record<string, unknown>) => api('POST', RULES, { token, body: { security_group_rule: rule } });

  beforeAll(async () => {
    admin = await issueToken();
    [alice, bob] = await Promise.all([createProjectMember(uniqueName('sg-alice'), admin), createProjectMember(uniqueName('sg-bob'), admin)]);
  });

  it('makes the default group on first list, with the 4 default rules', async () => {
    const listed = await openstackJson<{ ID: string; Name: string; Project: string }[]>(['security', 'group', 'list'], alice);
    expect(listed.map((g) => g.Name)).toEqual(['default']);
    expect(listed[0].Project).toBe(alice.projectId);

    const res = await api('GET', `${SG}/${listed[0].ID}`, { token: alice.token });
    expect(res.status).toBe(200);
    aliceDefault = res.body.security_group;
    expect(aliceDefault).toMatchObject({
      id: listed[0].ID,
      name: 'default',
      description: 'Default security group',
      stateful: true,
      shared: false,
      tags: [],
      tenant_id: alice.projectId,
      project_id: alice.projectId,
    });
    expect(aliceDefault.created_at).toMatch(ISO_SECONDS);
    const rules = aliceDefault.security_group_rules as Rule[];
    expect(rules).toHaveLength(4);
    const summary = rules.map((r) => `${r.direction} ${r.ethertype} ${r.protocol} ${r.remote_ip_prefix} ${r.remote_group_id}`).sort();
    expect(summary).toEqual([
      'egress IPv4 null null null',
      'egress IPv6 null null null',
      `ingress IPv4 null null ${aliceDefault.id}`,
      `ingress IPv6 null null ${aliceDefault.id}`,
    ]);
    for (const r of rules) expect(r).toMatchObject({ security_group_id: aliceDefault.id, project_id: alice.projectId, belongs_to_default_sg: true });

    // Listing again does not make another.
    const again = await api('GET', `${SG}?name=default`, { token: alice.token });
    expect(again.body.security_groups.map((g: Rule) => g.id)).toEqual([aliceDefault.id]);
  });

  it('adds, lists and deletes rules as the CLI does (tcp/22 and icmp on `default`)', async () => {
    const ssh = await openstackJson<Rule>(['security', 'group', 'rule', 'create', '--proto', 'tcp', '--dst-port', '22', 'default'], alice);
    expect(ssh).toMatchObject({
      security_group_id: aliceDefault.id,
      direction: 'ingress',
      // The CLI shows the SDK's attribute name.
      ether_type: 'IPv4',
      protocol: 'tcp',
      port_range_min: 22,
      port_range_max: 22,
      remote_ip_prefix: '0.0.0.0/0',
    });
    const icmp = await openstackJson<Rule>(['security', 'group', 'rule', 'create', '--proto', 'icmp', 'default'], alice);
    expect(icmp).toMatchObject({ protocol: 'icmp', port_range_min: null, port_range_max: null, direction: 'ingress' });

    const listed = await openstackJson<Rule[]>(['security', 'group', 'rule', 'list', 'default'], alice);
    expect(listed.map((r) => r.ID).sort()).toEqual([...aliceDefault.security_group_rules.map((r: Rule) => r.id), ssh.id, icmp.id].sort());
    expect(listed.find((r) => r.ID === ssh.id)).toMatchObject({ 'IP Protocol': 'tcp', 'Port Range': '22:22', 'IP Range': '0.0.0.0/0' });

    // The same rule again is refused, naming the rule there is.
    const dup = await rulePost(alice.token, { security_group_id: aliceDefault.id, direction: 'ingress', protocol: '6', port_range_min: 22, port_range_max: 22 });
    expectNeutronError(dup, 409, 'SecurityGroupRuleExists', new RegExp(`Rule id is ${ssh.id}\\.$`));
    await expect(openstack(['security', 'group', 'rule', 'create', '--proto', 'tcp', '--dst-port', '22', 'default'], alice)).rejects.toThrow(/already exists/);

    await openstack(['security', 'group', 'rule', 'delete', icmp.id], alice);
    const after = await api('GET', `${RULES}?security_group_id=${aliceDefault.id}`, { token: alice.token });
    expect(after.body.security_group_rules.map((r: Rule) => r.id)).not.toContain(icmp.id);
    expect(after.body.security_group_rules.map((r: Rule) => r.id)).toContain(ssh.id);
    expectNeutronError(await api('GET', `${RULES}/${icmp.id}`, { token: alice.token }), 404, 'SecurityGroupRuleNotFound');
    // Rule changes bump the group's revision.
    const group = await api('GET', `${SG}/${aliceDefault.id}`, { token: alice.token });
    expect(group.body.security_group.revision_number).toBeGreaterThan(aliceDefault.revision_number);
  });

  it('creates, shows, renames and deletes a group', async () => {
    const name = uniqueName('web');
    const created = await openstackJson<Rule>(['security', 'group', 'create', name], alice);
    expect(created).toMatchObject({ name, description: name, stateful: true, project_id: alice.projectId });
    const shown = await api('GET', `${SG}/${created.id}`, { token: alice.token });
    expect(shown.status).toBe(200);
    const rules = shown.body.security_group.security_group_rules as Rule[];
    expect(rules.map((r) => `${r.direction} ${r.ethertype}`).sort()).toEqual(['egress IPv4', 'egress IPv6']);
    expect(rules.every((r) => r.belongs_to_default_sg === false)).toBe(true);

    const renamed = await api('PUT', `${SG}/${created.id}`, { token: alice.token, body: { security_group: { name: `${name}-2`, description: 'x' } } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.security_group).toMatchObject({ name: `${name}-2`, description: 'x', revision_number: created.revision_number + 1 });
    const byName = await api('GET', `${SG}?name=${name}-2&fields=id&fields=name`, { token: alice.token });
    expect(byName.body.security_groups).toEqual([{ id: created.id, name: `${name}-2` }]);

    await openstack(['security', 'group', 'delete', created.id], alice);
    expectNeutronError(await api('GET', `${SG}/${created.id}`, { token: alice.token }), 404, 'SecurityGroupNotFound');
    const orphans = await api('GET', `${RULES}?security_group_id=${created.id}`, { token: admin });
    expect(orphans.body.security_group_rules).toEqual([]);
  });

  it('refuses bad rules with Neutron error bodies, never a 500', async () => {
    const base = { security_group_id: aliceDefault.id, direction: 'ingress' };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...base, protocol: 'bogus' }, 400, 'SecurityGroupRuleInvalidProtocol'],
      [{ ...base, protocol: 300 }, 400, 'SecurityGroupRuleInvalidProtocol'],
      [{ ...base, protocol: 'tcp', port_range_min: 30, port_range_max: 20 }, 400, 'SecurityGroupInvalidPortRange'],
      [{ ...base, protocol: 'udp', port_range_min: 1, port_range_max: 70000 }, 400, 'SecurityGroupInvalidPortValue'],
      [{ ...base, port_range_min: 22, port_range_max: 22 }, 400, 'SecurityGroupProtocolRequiredWithPorts'],
      [{ ...base, protocol: 'icmp', port_range_min: 300 }, 400, 'SecurityGroupInvalidIcmpValue'],
      [{ ...base, remote_ip_prefix: '10.0.0.300/24' }, 400, 'InvalidCIDR'],
      [{ ...base, ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/24' }, 400, 'SecurityGroupRuleParameterConflict'],
      [{ ...base, ethertype: 'IPX' }, 400, 'SecurityGroupRuleInvalidEtherType'],
      [{ ...base, remote_ip_prefix: '10.0.0.0/8', remote_group_id: aliceDefault.id }, 400, 'SecurityGroupMultipleRemoteEntites'],
      [{ ...base, direction: 'sideways' }, 400, 'HTTPBadRequest'],
      [{ ...base, colour: 'blue' }, 400, 'HTTPBadRequest'],
      [{ direction: 'ingress' }, 400, 'HTTPBadRequest'],
      [{ ...base, security_group_id: '00000000-0000-4000-8000-000000000000' }, 404, 'SecurityGroupNotFound'],
      [{ ...base, remote_group_id: '00000000-0000-4000-8000-000000000000' }, 404, 'SecurityGroupNotFound'],
    ];
    for (const [rule, status, type] of cases) expectNeutronError(await rulePost(alice.token, rule), status, type);

    expectNeutronError(await api('POST', SG, { token: alice.token, body: { security_group: { name: 'Default' } } }), 409, 'SecurityGroupDefaultAlreadyExists');
    expectNeutronError(await api('POST', SG, { token: alice.token, body: { security_group: { name: 'x', stateful: false } } }), 400, 'InvalidInput');
    expectNeutronError(await api('PUT', `${SG}/${aliceDefault.id}`, { token: alice.token, body: { security_group: { name: 'mine' } } }), 409, 'SecurityGroupCannotUpdateDefault');
    expectNeutronError(await api('DELETE', `${SG}/${aliceDefault.id}`, { token: alice.token }), 409, 'SecurityGroupCannotRemoveDefault');
    expectNeutronError(await api('GET', `${RULES}?colour=blue`, { token: alice.token }), 400, 'HTTPBadRequest');
  });

  it("hides another project's groups and rules (404), while an admin sees them", async () => {
    const bobGroup = (await api('POST', SG, { token: bob.token, body: { security_group: { name: 'bobs' } } })).body.security_group;
    const bobRule = bobGroup.security_group_rules[0].id;
    expectNeutronError(await api('GET', `${SG}/${bobGroup.id}`, { token: alice.token }), 404, 'SecurityGroupNotFound');
    expectNeutronError(await api('PUT', `${SG}/${bobGroup.id}`, { token: alice.token, body: { security_group: { name: 'x' } } }), 404, 'SecurityGroupNotFound');
    expectNeutronError(await api('DELETE', `${SG}/${bobGroup.id}`, { token: alice.token }), 404, 'SecurityGroupNotFound');
    expectNeutronError(await rulePost(alice.token, { security_group_id: bobGroup.id, direction: 'ingress' }), 404, 'SecurityGroupNotFound');
    expectNeutronError(await rulePost(alice.token, { security_group_id: aliceDefault.id, direction: 'ingress', remote_group_id: bobGroup.id }), 404, 'SecurityGroupNotFound');
    expectNeutronError(await api('GET', `${RULES}/${bobRule}`, { token: alice.token }), 404, 'SecurityGroupRuleNotFound');
    expectNeutronError(await api('DELETE', `${RULES}/${bobRule}`, { token: alice.token }), 404, 'SecurityGroupRuleNotFound');
    const aliceSees = await api('GET', SG, { token: alice.token });
    expect(aliceSees.body.security_groups.every((g: Rule) => g.project_id === alice.projectId)).toBe(true);
    const aliceRules = await api('GET', RULES, { token: alice.token });
    expect(aliceRules.body.security_group_rules.every((r: Rule) => r.project_id === alice.projectId)).toBe(true);

    const adminSees = await api('GET', `${SG}?project_id=${bob.projectId}`, { token: admin });
    expect(adminSees.body.security_groups.map((g: Rule) => g.name).sort()).toEqual(['bobs', 'default']);
    expect((await api('GET', `${SG}/${bobGroup.id}`, { token: admin })).status).toBe(200);
  });

  it('keeps a group that a port uses (409 SecurityGroupInUse)', async () => {
    const group = (await api('POST', SG, { token: alice.token, body: { security_group: { name: 'on-a-port' } } })).body.security_group;
    const network = await api('POST', '/networking/v2.0/networks', { token: alice.token, body: { network: { name: uniqueName('sg-net') } } });
    expect(network.status, JSON.stringify(network.body)).toBe(201);
    const subnet = await api('POST', '/networking/v2.0/subnets', {
      token: alice.token,
      body: { subnet: { network_id: network.body.network.id, ip_version: 4, cidr: '10.77.0.0/24' } },
    });
    expect(subnet.status, JSON.stringify(subnet.body)).toBe(201);
    const port = await api('POST', '/networking/v2.0/ports', {
      token: alice.token,
      body: { port: { network_id: network.body.network.id, security_groups: [group.id] } },
    });
    expect(port.status, JSON.stringify(port.body)).toBe(201);
    expect(port.body.port.security_groups).toEqual([group.id]);

    expectNeutronError(await api('DELETE', `${SG}/${group.id}`, { token: alice.token }), 409, 'SecurityGroupInUse', new RegExp(`Security Group ${group.id} in use\\.`));
    expect((await api('DELETE', `/networking/v2.0/ports/${port.body.port.id}`, { token: alice.token })).status).toBe(204);
    expect((await api('DELETE', `${SG}/${group.id}`, { token: alice.token })).status).toBe(204);
  });

  it('enforces the security_group quota of 10 (the default group counts) and gives it back on delete', async () => {
    const carol = await createProjectMember(uniqueName('sg-quota'), admin);
    const create = (n: number) => api('POST', SG, { token: carol.token, body: { security_group: { name: `g${n}` } } });
    // The first create makes the default group too: 1 + 9 = the limit of 10.
    const made: string[] = [];
    for (let n = 1; n <= 9; n++) {
      const res = await create(n);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      made.push(res.body.security_group.id);
    }
    expectNeutronError(await create(10), 409, 'OverQuota', /Quota exceeded for resources: \['security_group'\]\./);
    const listed = await api('GET', `${SG}?fields=id`, { token: carol.token });
    expect(listed.body.security_groups).toHaveLength(10);

    expect((await api('DELETE', `${SG}/${made[0]}`, { token: carol.token })).status).toBe(204);
    expect((await create(11)).status).toBe(201);
  });

  it('adds one rule when the same rule is asked for 4 times at once', async () => {
    const rule = { security_group_id: aliceDefault.id, direction: 'ingress', protocol: 'udp', port_range_min: 5353, port_range_max: 5353 };
    const results = await Promise.all(Array.from({ length: 4 }, () => rulePost(alice.token, rule)));
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    for (const res of results.filter((r) => r.status !== 201)) {
      expectNeutronError(res, 409, 'SecurityGroupRuleExists', new RegExp(created[0].body.security_group_rule.id));
    }
  });

  it('makes exactly one default group when 5 requests race for it', async () => {
    const dave = await createProjectMember(uniqueName('sg-race'), admin);
    const results = await Promise.all(Array.from({ length: 5 }, () => api('GET', SG, { token: dave.token })));
    const ids = new Set<string>();
    for (const res of results) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.security_groups).toHaveLength(1);
      ids.add(res.body.security_groups[0].id);
    }
    expect(ids.size).toBe(1);
    const all = await api('GET', `${SG}?project_id=${dave.projectId}&name=default`, { token: admin });
    expect(all.body.security_groups).toHaveLength(1);
    expect(all.body.security_groups[0].security_group_rules).toHaveLength(4);
    const rules = await api('GET', `${RULES}?project_id=${dave.projectId}`, { token: admin });
    expect(rules.body.security_group_rules).toHaveLength(4);
  });
});
