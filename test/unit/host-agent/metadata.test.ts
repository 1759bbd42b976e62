import { randomUUID } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  afterAll,
  beforeAll,
  describe,
  expect,
  it,
} from 'vitest';
import { classlessRoutes } from '../../../host-agent/network/dnsmasq-config.js';
import { NetworkStateSchema, type HostNetworkPlan } from '../../../shared/domain/network/host-plan.js';
import { ec2Id, OPENSTACK_VERSIONS } from '../../../host-agent/metadata/metadata-content.js';
import { NETWORK_ID_HEADER, SOURCE_HEADER } from '../../../host-agent/metadata/metadata-proxy.js';
import { startMetadataServer, type MetadataServer } from '../../../host-agent/metadata/metadata-server.js';
import type { GuestSpec } from '../../../shared/messages/host.js';
import { guestSpec, tempDir } from './support.js';

/** The metadata server over its unix socket, with the headers the namespace proxy would set. */

const NET_A: string = randomUUID();
const NET_B: string = randomUUID();
const SUBNET = randomUUID();
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1 alice@example';

const vm1 = guestSpec({ name: 'vm-one', hostname: 'vm-one', key_name: 'alice', key_data: KEY, metadata: { role: 'web' }, user_data: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'), availability_zone: 'nova', launch_index: 2 });
const vm2 = guestSpec({ name: 'vm-two', hostname: 'vm-two' });
const specs = new Map<string, GuestSpec>([vm1, vm2].map((s) => [s.instance_id, s]));

const port = (id: string, network: string, ip: string) => ({
  id,
  network_id: network,
  mac_address: 'fa:16:3e:00:00:01',
  fixed_ips: [{ subnet_id: SUBNET, ip_address: ip }],
  port_security_enabled: true,
  allowed_address_pairs: [],
  security_group_ids: [],
});
const [P1, P2, P3] = [randomUUID(), randomUUID(), randomUUID()];
const plan: HostNetworkPlan = {
  revision: 1,
  dvr_mac: null,
  networks: [],
  security_groups: [],
  ports: [port(P1, NET_A, '10.0.0.11'), port(P2, NET_A, '10.0.0.12'), port(P3, NET_A, '10.0.0.13')],
  // P3 belongs to no local guest spec: it is answered like an unknown source.
  devices: [
    { port_id: P1, instance_id: vm1.instance_id },
    { port_id: P2, instance_id: vm2.instance_id },
    { port_id: P3, instance_id: randomUUID() },
  ],
  routers: [{ id: randomUUID(), interfaces: [], gateway: null, floating_ips: [{ floating_ip_address: '203.0.113.50', fixed_ip_address: '10.0.0.11', port_id: P1 }] }],
};

let dir: string;
let server: MetadataServer;

interface Answer {
  status: number;
  type: string | undefined;
  body: string;
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: server.socketPath, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

const from = (ip: string, network = NET_A) => ({ [SOURCE_HEADER]: ip, [NETWORK_ID_HEADER]: network });
const getAs = (ip: string, path: string, network = NET_A) => get(path, from(ip, network));

describe('metadata server', () => {
  beforeAll(async () => {
    dir = await tempDir('metadata-');
    server = await startMetadataServer({ socketPath: join(dir, 'metadata', 'metadata.sock'), plan: () => plan, guest: (id) => specs.get(id) });
  });

  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is reachable by root only: socket 0600 in a 0700 directory', async () => {
    expect((await stat(server.socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'metadata'))).mode & 0o777).toBe(0o700);
  });

  it('answers each source with its own meta_data.json', async () => {
    const one = await getAs('10.0.0.11', '/openstack/latest/meta_data.json');
    expect(one.status).toBe(200);
    expect(one.type).toBe('application/json');
    expect(JSON.parse(one.body)).toMatchObject({
      uuid: vm1.instance_id,
      name: 'vm-one',
      hostname: 'vm-one',
      project_id: vm1.project_id,
      availability_zone: 'nova',
      launch_index: 2,
      meta: { role: 'web' },
      public_keys: { alice: KEY },
      keys: [{ name: 'alice', type: 'ssh', data: KEY }],
      devices: [],
    });
    const two = JSON.parse((await getAs('10.0.0.12', '/openstack/2018-08-27/meta_data.json')).body);
    expect(two).toMatchObject({ uuid: vm2.instance_id, name: 'vm-two', public_keys: {} });
  });

  it('serves user_data, vendor_data.json, network_data.json and the version listings', async () => {
    expect((await getAs('10.0.0.11', '/openstack/latest/user_data')).body).toBe('#!/bin/sh\necho hi\n');
    expect((await getAs('10.0.0.12', '/openstack/latest/user_data')).status).toBe(404);
    expect(JSON.parse((await getAs('10.0.0.11', '/openstack/latest/vendor_data.json')).body)).toEqual({});
    expect(JSON.parse((await getAs('10.0.0.11', '/openstack/latest/network_data.json')).body)).toHaveProperty('links');
    expect((await getAs('10.0.0.11', '/openstack')).body.split('\n')).toEqual([...OPENSTACK_VERSIONS, 'latest']);
    expect((await getAs('10.0.0.11', '/openstack/latest/')).body.split('\n')).toEqual(
      expect.arrayContaining(['meta_data.json', 'user_data', 'vendor_data.json', 'network_data.json']),
    );
    // network_data.json exists from Liberty (2015-10-15) on, as in Nova.
    expect((await getAs('10.0.0.11', '/openstack/2012-08-10')).body).not.toContain('network_data.json');
    expect((await getAs('10.0.0.11', '/openstack/2012-08-10/network_data.json')).status).toBe(404);
    expect((await getAs('10.0.0.11', '/openstack/2012-08-10/meta_data.json')).status).toBe(200);
    expect((await getAs('10.0.0.11', '/openstack/2011-01-01/meta_data.json')).status).toBe(404);
    expect((await getAs('10.0.0.11', '/openstack/latest/nothing')).status).toBe(404);
  });

  it('serves the EC2 tree cloud-init reads', async () => {
    const md = (path: string, ip = '10.0.0.11') => getAs(ip, `/latest/meta-data/${path}`).then((a) => a.body);
    const listing = (await md('')).split('\n');
    expect(listing).toEqual(expect.arrayContaining(['instance-id', 'hostname', 'local-hostname', 'local-ipv4', 'public-ipv4', 'placement/', 'public-keys/', 'ami-launch-index', 'instance-type']));
    expect(await md('instance-id')).toBe(ec2Id('i', vm1.instance_id));
    expect(await md('instance-id')).toMatch(/^i-[0-9a-f]{8}$/);
    expect(await md('hostname')).toBe('vm-one');
    expect(await md('local-hostname')).toBe('vm-one');
    expect(await md('local-ipv4')).toBe('10.0.0.11');
    expect(await md('public-ipv4')).toBe('203.0.113.50');
    expect(await md('placement/availability-zone')).toBe('nova');
    expect(await md('ami-launch-index')).toBe('2');
    expect(await md('instance-type')).toBe(vm1.flavor.name);
    expect(await md('public-keys/')).toBe('0=alice');
    expect(await md('public-keys/0/')).toBe('openssh-key');
    expect(await md('public-keys/0/openssh-key')).toBe(KEY);
    expect((await getAs('10.0.0.11', '/latest/user-data')).body).toBe('#!/bin/sh\necho hi\n');
    expect((await getAs('10.0.0.11', '/2009-04-04/meta-data/local-ipv4')).body).toBe('10.0.0.11');
    expect((await getAs('10.0.0.11', '/latest')).body.split('\n')).toEqual(['meta-data/', 'user-data']);
    expect((await getAs('10.0.0.11', '/')).body.split('\n')).toContain('latest');
    // The second guest: no key, no user data, no floating IP.
    expect((await getAs('10.0.0.12', '/latest/user-data')).status).toBe(404);
    expect(await md('public-keys/', '10.0.0.12')).toBe('');
    expect((await getAs('10.0.0.12', '/latest/meta-data/public-ipv4')).status).toBe(404);
    expect((await getAs('10.0.0.11', '/latest/meta-data/public-keys/0/_name')).status).toBe(404);
  });

  it('answers 404 and nothing else to a source that is no local guest’s port on that network', async () => {
    const sources: [string, string][] = [
      ['10.0.0.11', NET_B], // the right address on another network
      ['10.0.0.99', NET_A], // no port
      ['10.0.0.13', NET_A], // a port without a local guest spec
    ];
    for (const [ip, network] of sources) {
      for (const path of ['/openstack/latest/meta_data.json', '/latest/meta-data/', '/openstack', '/']) {
        const answer = await getAs(ip, path, network);
        expect(answer.status).toBe(404);
        expect(answer.body).not.toContain(vm1.instance_id);
      }
    }
  });

  it('refuses requests without the proxy’s headers, and methods other than GET and HEAD', async () => {
    expect((await get('/openstack/latest/meta_data.json')).status).toBe(400);
    expect((await get('/openstack/latest/meta_data.json', { [SOURCE_HEADER]: '10.0.0.11' })).status).toBe(400);
    expect((await get('/openstack/latest/meta_data.json', from('10.0.0.11'), 'POST')).status).toBe(405);
    const head = await get('/openstack/latest/meta_data.json', from('10.0.0.11'), 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('follows the plan it is given: a port moved to another instance answers as that one', async () => {
    const device = plan.devices.find((d) => d.port_id === P2)!;
    device.instance_id = vm1.instance_id;
    try {
      expect(JSON.parse((await getAs('10.0.0.12', '/openstack/latest/meta_data.json')).body).uuid).toBe(vm1.instance_id);
    } finally {
      device.instance_id = vm2.instance_id;
    }
  });
});

describe('DHCP option 121 with the metadata route', () => {
  const network = (hostRoutes: { destination: string; nexthop: string }[], gateway: string | null = '10.0.0.1') =>
    NetworkStateSchema.parse({
      id: NET_A,
      vni: 100,
      subnets: [{ id: SUBNET, cidr: '10.0.0.0/24', gateway_ip: gateway, enable_dhcp: true, host_routes: hostRoutes }],
      dhcp: { mac_address: 'fa:16:3e:00:d1:01', fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.0.0.2' }] },
    });

  it('routes 169.254.169.254/32 via the DHCP port and keeps the default route, after the host routes', () => {
    const n = network([{ destination: '10.9.0.0/16', nexthop: '10.0.0.5' }]);
    expect(classlessRoutes(n, n.subnets[0])).toEqual(['10.9.0.0/16,10.0.0.5', '169.254.169.254/32,10.0.0.2', '0.0.0.0/0,10.0.0.1']);
    const plain = network([]);
    expect(classlessRoutes(plain, plain.subnets[0])).toEqual(['169.254.169.254/32,10.0.0.2', '0.0.0.0/0,10.0.0.1']);
    const noGateway = network([], null);
    expect(classlessRoutes(noGateway, noGateway.subnets[0])).toEqual(['169.254.169.254/32,10.0.0.2']);
  });
});
