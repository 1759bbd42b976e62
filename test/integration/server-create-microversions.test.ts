import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaDataOf } from '../../host-agent/config-drive/config-drive.js';
import { spawnCommandFor } from '../../shared/messages/host-commands.js';
import { getInstance } from '../../shared/store/instances.js';
import { api, issueToken } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * `POST /servers` across microversions (Nova's create_v219 … create_v237 schemas): which fields
 * each version takes, and what `networks` means at each.
 */
let adminToken: string;
let member: ProjectMember;
let imageId: string;
const servers: string[] = [];

const at = (version: string) => ({ 'OpenStack-API-Version': `compute ${version}` });

async function create(version: string, server: Record<string, unknown>, token = member.token) {
  const res = await api('POST', '/compute/v2.1/servers', { token, headers: at(version), body: { server: { imageRef: imageId, flavorRef: '1', name: uniqueName('mv'), ...server } } });
  if (res.status === 202) servers.push(res.body.server.id);
  return res;
}

const addressesOf = async (id: string) => (await api('GET', `/compute/v2.1/servers/${id}`, { token: member.token })).body.server.addresses;

beforeAll(async () => {
  adminToken = await issueToken();
  member = await createProjectMember(uniqueName('mv-create'), adminToken);
  imageId = await uploadTestImage(uniqueName('mv-image'), adminToken);
});

afterAll(async () => {
  await Promise.all(servers.map((id) => api('DELETE', `/compute/v2.1/servers/${id}`, { token: adminToken })));
  await api('DELETE', `/image/v2/images/${imageId}`, { token: adminToken });
});

describe('networks below 2.37', () => {
  it("refuses 'auto' and 'none', which are not a list there", async () => {
    for (const networks of ['auto', 'none']) {
      const res = await create('2.36', { networks });
      expect(res.status).toBe(400);
      expect(res.body.badRequest.message).toMatch(/networks.*not of type 'array'/);
    }
  });

  it('puts a server without networks on the one network the project can use', async () => {
    const res = await create('2.1', {});
    expect(res.status).toBe(202);
    expect(Object.keys(await addressesOf(res.body.server.id))).toEqual(['shared']);
  });
});

describe('networks from 2.37', () => {
  it('requires networks', async () => {
    const res = await create('2.37', {});
    expect(res.status).toBe(400);
    expect(res.body.badRequest.message).toMatch(/'networks' is a required property/);
  });

  it("'none' boots without a NIC and 'auto' on the project's one network", async () => {
    const none = await create('2.37', { networks: 'none' });
    const auto = await create('2.37', { networks: 'auto' });
    expect([none.status, auto.status]).toEqual([202, 202]);
    expect(await addressesOf(none.body.server.id)).toEqual({});
    expect(Object.keys(await addressesOf(auto.body.server.id))).toEqual(['shared']);
  });

  it('takes network uuids that are uuids only', async () => {
    const res = await create('2.37', { networks: [{ uuid: 'not-a-uuid' }] });
    expect(res.status).toBe(400);
    expect(res.body.badRequest.message).toMatch(/is not a 'uuid'/);
  });

  it("answers 'auto' with Nova's 409 when the project has more than one network", async () => {
    const net = await api('POST', '/networking/v2.0/networks', { token: member.token, body: { network: { name: uniqueName('own') } } });
    expect(net.status).toBe(201);
    try {
      const res = await create('2.37', { networks: 'auto' });
      expect(res.status).toBe(409);
      expect(res.body.conflictingRequest.message).toMatch(/Multiple possible networks found/);
    } finally {
      await api('DELETE', `/networking/v2.0/networks/${net.body.network.id}`, { token: member.token });
    }
  });
});

describe('fields of a version', () => {
  it('takes a description from 2.19 only', async () => {
    expect((await create('2.18', { description: 'web', networks: [] })).status).toBe(400);
    const res = await create('2.19', { description: 'web', networks: [] });
    expect(res.status).toBe(202);
    const shown = await api('GET', `/compute/v2.1/servers/${res.body.server.id}`, { token: member.token, headers: at('2.19') });
    expect(shown.body.server.description).toBe('web');
  });

  it('refuses a description with control characters or over 255 characters', async () => {
    for (const description of ['a\u0001b', 'x'.repeat(256)]) {
      const res = await create('2.19', { description, networks: [] });
      expect(res.status).toBe(400);
    }
  });

  it('takes a NIC tag at 2.32 to 2.36 only, as Nova does', async () => {
    const shared = (await api('GET', '/networking/v2.0/networks?name=shared', { token: member.token })).body.networks[0];
    const nic = { uuid: shared.id, tag: 'frontend' };
    expect((await create('2.31', { networks: [nic] })).status).toBe(400);
    expect((await create('2.37', { networks: [nic] })).status).toBe(400);
    expect((await create('2.32', { networks: [{ uuid: shared.id, tag: 'a/b' }] })).status).toBe(400);
    const res = await create('2.32', { networks: [nic] });
    expect(res.status).toBe(202);
    // The tag travels with the NIC to the host, whose metadata lists it under `devices`.
    const instance = (await getInstance(res.body.server.id))!;
    const [portId] = Object.keys(instance.device_tags);
    expect(instance.device_tags).toEqual({ [portId]: 'frontend' });
    const spawn = await spawnCommandFor(instance, 'req-tags');
    expect(spawn.guest.nics.map((n) => [n.port_id, n.tag])).toEqual([[portId, 'frontend']]);
    expect(metaDataOf(spawn.guest).devices).toEqual([{ type: 'nic', bus: 'pci', address: '0000:00:10.0', mac: spawn.guest.nics[0].mac_address, tags: ['frontend'] }]);
  });
});
