import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerState, TaskState, VmState } from '../../shared/domain/instance-states.js';
import { createInstances, deadlineFor, getInstance, removeInstance } from '../../shared/store/instances.js';
import { api, issueToken, openstack, openstackJson, waitFor } from '../support/cloud.js';
import { newInstance, uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * Nova's os-interface through the real `openstack` CLI (server add network / add port / remove
 * port / remove network, port list --server) and raw HTTP for Nova's statuses, on a fake-driver
 * host: ports are made, bound and removed, the server's addresses follow, the host gets the NIC.
 */
type Row = Record<string, any>;

let admin: string;
let user: ProjectMember;
let other: ProjectMember;
let imageId: string;
const made: string[] = [];

const IFACE = (server: string) => `/compute/v2.1/servers/${server}/os-interface`;
const portIds = async (server: string) => (await openstackJson<Row[]>(['port', 'list', '--server', server], user)).map((p) => p.ID as string).sort();

beforeAll(async () => {
  admin = await issueToken();
  user = await createProjectMember(uniqueName('ifuser'), admin);
  other = await createProjectMember(uniqueName('ifother'), admin);
  imageId = await uploadTestImage(uniqueName('if-image'), admin);
});

afterAll(async () => {
  for (const id of made) {
    const i = await getInstance(id);
    if (i) await removeInstance(i).catch(() => undefined);
  }
  await openstack(['image', 'delete', imageId]).catch(() => undefined);
});

describe('os-interface', () => {
  let server: string;
  let first: Row;
  let second: Row;
  let netA: string;
  let netB: string;

  beforeAll(async () => {
    netA = uniqueName('ifnet-a');
    netB = uniqueName('ifnet-b');
    first = await openstackJson(['network', 'create', netA], user);
    await openstackJson(['subnet', 'create', '--network', netA, '--subnet-range', '192.168.51.0/24', `${netA}-sub`], user);
    second = await openstackJson(['network', 'create', netB], user);
    await openstackJson(['subnet', 'create', '--network', netB, '--subnet-range', '192.168.52.0/24', `${netB}-sub`], user);
    server = String((await openstackJson(['server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--network', netA, '--wait', uniqueName('ifvm')], user)).id);
  });

  afterAll(async () => {
    await openstack(['server', 'delete', '--wait', server], user).catch(() => undefined);
    await openstack(['network', 'delete', netA, netB], user).catch(() => undefined);
  });

  it('lists and shows the boot port as an interface attachment', async () => {
    const [bootPort] = await portIds(server);
    const list = await api('GET', IFACE(server), { token: user.token });
    expect(list.status).toBe(200);
    const port = await openstackJson(['port', 'show', bootPort], user);
    expect(list.body.interfaceAttachments).toEqual([
      {
        port_state: port.status,
        fixed_ips: (port.fixed_ips as Row[]).map((ip) => ({ subnet_id: ip.subnet_id, ip_address: ip.ip_address })),
        port_id: bootPort,
        net_id: first.id,
        mac_addr: port.mac_address,
      },
    ]);
    const show = await api('GET', `${IFACE(server)}/${bootPort}`, { token: user.token });
    expect(show.status).toBe(200);
    expect(show.body.interfaceAttachment).toEqual(list.body.interfaceAttachments[0]);
    expect((await api('GET', `${IFACE(server)}/00000000-0000-4000-8000-000000000000`, { token: user.token })).status).toBe(404);
    // Another project sees no such server.
    expect((await api('GET', IFACE(server), { token: other.token })).status).toBe(404);
  });

  it('attaches a network (`server add network`) and detaches it (`server remove network`): a port made and removed, addresses and host follow', async () => {
    const before = await portIds(server);
    await openstack(['server', 'add', 'network', server, netB], user);
    const after = await portIds(server);
    expect(after).toHaveLength(2);
    const added = after.find((id) => !before.includes(id))!;
    const port = await openstackJson(['port', 'show', added], user);
    expect(port).toMatchObject({ network_id: second.id, device_id: server });
    // Bound to the server's host (binding attributes are the admin's to see).
    const hostOf = (await openstackJson(['server', 'show', server])) as Row;
    expect(await openstackJson(['port', 'show', added])).toMatchObject({ binding_host_id: hostOf['OS-EXT-SRV-ATTR:host'] });
    expect(String(port.device_owner)).toMatch(/^compute:/);
    const shown = await openstackJson(['server', 'show', server], user);
    expect(Object.keys(shown.addresses as Row).sort()).toEqual([netA, netB].sort());
    expect((shown.addresses as Row)[netB]).toEqual([(port.fixed_ips as Row[])[0].ip_address]);
    // The host plugged it (the fake driver says so on the console).
    await waitFor('the host to attach the NIC', async () => (await openstack(['console', 'log', 'show', server], user)).includes(`attached interface tap${added.slice(0, 11)}`));
    const actions = await api('GET', `/compute/v2.1/servers/${server}/os-instance-actions`, { token: user.token });
    expect(actions.body.instanceActions.map((a: Row) => a.action)).toContain('attach_interface');

    await openstack(['server', 'remove', 'network', server, netB], user);
    expect(await portIds(server)).toEqual(before);
    expect((await api('GET', `/network/v2.0/ports/${added}`, { token: user.token })).status).toBe(404);
    expect(Object.keys((await openstackJson(['server', 'show', server], user)).addresses as Row)).toEqual([netA]);
    await waitFor('the host to detach the NIC', async () => (await openstack(['console', 'log', 'show', server], user)).includes(`detached interface of port ${added}`));
  });

  it('attaches a fixed IP on a network through the API: 200 with the attachment', async () => {
    const res = await api('POST', IFACE(server), { token: user.token, body: { interfaceAttachment: { net_id: second.id, fixed_ips: [{ ip_address: '192.168.52.77' }] } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.interfaceAttachment).toMatchObject({ net_id: second.id, fixed_ips: [{ ip_address: '192.168.52.77', subnet_id: expect.any(String) }], port_state: expect.any(String) });
    const again = await api('POST', IFACE(server), { token: user.token, body: { interfaceAttachment: { net_id: second.id, fixed_ips: [{ ip_address: '192.168.52.77' }] } } });
    expect(again.status).toBe(409);
    const detach = await api('DELETE', `${IFACE(server)}/${res.body.interfaceAttachment.port_id}`, { token: user.token });
    expect(detach.status).toBe(202);
    expect(await portIds(server)).toHaveLength(1);
  });

  it('attaches the user’s port (`server add port`) and detaches it (`server remove port`): the port stays, unbound', async () => {
    const mine = await openstackJson(['port', 'create', '--network', netB, uniqueName('ifport')], user);
    await openstack(['server', 'add', 'port', server, String(mine.id)], user);
    expect(await portIds(server)).toContain(mine.id);
    expect(await openstackJson(['port', 'show', String(mine.id)], user)).toMatchObject({ device_id: server });
    expect(((await openstackJson(['server', 'show', server], user)).addresses as Row)[netB]).toEqual([(mine.fixed_ips as Row[])[0].ip_address]);

    // Bound already: 409, as Nova's PortInUse.
    const bound = await api('POST', IFACE(server), { token: user.token, body: { interfaceAttachment: { port_id: mine.id } } });
    expect(bound.status).toBe(409);

    await openstack(['server', 'remove', 'port', server, String(mine.id)], user);
    expect(await portIds(server)).not.toContain(mine.id);
    expect(await openstackJson(['port', 'show', String(mine.id)], user)).toMatchObject({ device_id: '' });
    expect((await openstackJson(['port', 'show', String(mine.id)])).binding_host_id).toBeFalsy();
    expect(Object.keys((await openstackJson(['server', 'show', server], user)).addresses as Row)).toEqual([netA]);
    await openstack(['port', 'delete', String(mine.id)], user);
  });

  it('answers bad input with Nova’s errors', async () => {
    const post = (body: unknown, token = user.token) => api('POST', IFACE(server), { token, body });
    const before = await portIds(server);
    // Unknown network or port: 404 (attach_interfaces.py maps NetworkNotFound and PortNotFound to 404).
    const unknownNet = await post({ interfaceAttachment: { net_id: '00000000-0000-4000-8000-000000000000' } });
    expect(unknownNet.status).toBe(404);
    expect(unknownNet.body.itemNotFound.message).toBe('Network 00000000-0000-4000-8000-000000000000 could not be found.');
    expect((await post({ interfaceAttachment: { port_id: '00000000-0000-4000-8000-000000000000' } })).status).toBe(404);
    expect((await post({ interfaceAttachment: { net_id: 'not-a-uuid' } })).status).toBe(400);
    expect((await post({ interfaceAttachment: { net_id: first.id, port_id: before[0] } })).body.badRequest.message).toBe('Must not input both network_id and port_id');
    expect((await post({ interfaceAttachment: { fixed_ips: [{ ip_address: '192.168.51.9' }] } })).body.badRequest.message).toBe('Must input network_id when request IP address');
    expect((await post({ interfaceAttachment: { net_id: first.id, bogus: 1 } })).status).toBe(400);
    // No network named: the project has two of its own, so Nova cannot choose.
    const ambiguous = await post({ interfaceAttachment: {} });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.badRequest.message).toMatch(/More than one possible network found/);
    // Another project's network is not found for this one; detach of a port the server does not have: 404.
    const theirs = await openstackJson(['network', 'create', uniqueName('ifnet-other')], other);
    expect((await post({ interfaceAttachment: { net_id: theirs.id } })).status).toBe(404);
    await openstack(['network', 'delete', String(theirs.id)], other);
    const notAttached = await api('DELETE', `${IFACE(server)}/00000000-0000-4000-8000-000000000000`, { token: user.token });
    expect(notAttached.status).toBe(404);
    expect(notAttached.body.itemNotFound.message).toBe('Port 00000000-0000-4000-8000-000000000000 is not attached');
    expect(await portIds(server)).toEqual(before);
  });

  it('refuses a locked server to non-admins (409)', async () => {
    await api('POST', `/compute/v2.1/servers/${server}/action`, { token: admin, body: { lock: null } });
    try {
      const res = await api('POST', IFACE(server), { token: user.token, body: { interfaceAttachment: { net_id: second.id } } });
      expect(res.status).toBe(409);
      expect(res.body.conflictingRequest.message).toBe(`Instance ${server} is locked`);
      expect((await api('DELETE', `${IFACE(server)}/${(await portIds(server))[0]}`, { token: user.token })).status).toBe(409);
    } finally {
      await api('POST', `/compute/v2.1/servers/${server}/action`, { token: admin, body: { unlock: null } });
    }
  });

  it('works on a stopped server (SHUTOFF) too', async () => {
    await openstack(['server', 'stop', server], user);
    await waitFor('SHUTOFF', async () => (await openstackJson(['server', 'show', server], user)).status === 'SHUTOFF');
    await openstack(['server', 'add', 'network', server, netB], user);
    const ports = await portIds(server);
    expect(ports).toHaveLength(2);
    for (const id of ports) if ((await openstackJson(['port', 'show', id], user)).network_id === second.id) await openstack(['server', 'remove', 'port', server, id], user);
    expect(await portIds(server)).toHaveLength(1);
  });
});

describe('os-interface on a server in the wrong state', () => {
  it.each([
    [VmState.ERROR, null, 'vm_state error'],
    [VmState.BUILDING, TaskState.SPAWNING, 'vm_state building'],
    [VmState.ACTIVE, TaskState.REBOOTING, 'task_state rebooting'],
  ] as const)('%s / %s: 409', async (vm, task, words) => {
    const instance = newInstance(user.projectId, { vm_state: vm, task_state: task, task_deadline: task ? deadlineFor(task) : null, host: 'nowhere', power_state: PowerState.RUNNING });
    await createInstances([instance], { instances: 100, cores: 100, ram: 100_000 });
    made.push(instance.id);
    const attach = await api('POST', IFACE(instance.id), { token: user.token, body: { interfaceAttachment: {} } });
    expect(attach.status).toBe(409);
    expect(attach.body.conflictingRequest.message).toBe(`Cannot 'attach_interface' instance ${instance.id} while it is in ${words}`);
    const detach = await api('DELETE', `${IFACE(instance.id)}/00000000-0000-4000-8000-000000000000`, { token: user.token });
    expect(detach.body.conflictingRequest.message).toBe(`Cannot 'detach_interface' instance ${instance.id} while it is in ${words}`);
    expect((await api('GET', IFACE(instance.id), { token: user.token })).body).toEqual({ interfaceAttachments: [] });
  });
});
