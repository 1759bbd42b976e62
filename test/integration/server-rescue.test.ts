import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCredentials, api, createProjectUser, issueToken, openstack, waitFor, type Credentials } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';

/**
 * rescue / unrescue end to end on the fake driver: the API's checks and answers, the host's
 * rescue guest (seen on its console log), the conductor's RESCUE and ACTIVE, through the HTTP API
 * and the `openstack` CLI.
 */
type Server = Record<string, any>;

let member: Credentials;
let memberToken: string;
let adminToken: string;
let imageId: string;
let rescueImageId: string;
const servers: string[] = [];

const show = async (id: string): Promise<Server> => (await api('GET', `/compute/v2.1/servers/${id}`, { token: adminToken })).body.server;
const act = (id: string, body: unknown, token = memberToken) => api('POST', `/compute/v2.1/servers/${id}/action`, { token, body });

async function settled(id: string, status: string, timeoutMs = 30_000): Promise<Server> {
  return waitFor(`server ${id} ${status}`, async () => {
    const s = await show(id);
    if (s.status === 'ERROR' && status !== 'ERROR') throw new Error(`server went to ERROR: ${JSON.stringify(s.fault)}`);
    return s.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  }, timeoutMs);
}

async function boot(name: string): Promise<string> {
  const res = await api('POST', '/compute/v2.1/servers', {
    token: memberToken,
    headers: { 'OpenStack-API-Version': 'compute 2.37' },
    body: { server: { name, imageRef: imageId, flavorRef: '1', networks: 'none' } },
  });
  expect(res.status).toBe(202);
  servers.push(res.body.server.id);
  await settled(res.body.server.id, 'ACTIVE');
  return res.body.server.id;
}

/** Waits for the guest's published console log to say `text`. */
const consoleSays = (id: string, text: string) =>
  waitFor(`"${text}" on the console of ${id}`, async () => {
    const res = await act(id, { 'os-getConsoleOutput': { length: -1 } });
    return res.status === 200 && res.body.output.includes(text) ? res.body.output : undefined;
  }, 20_000);

beforeAll(async () => {
  member = await createProjectUser(uniqueName('rescue'));
  memberToken = await issueToken(member);
  adminToken = await issueToken(adminCredentials());
  [imageId, rescueImageId] = await Promise.all([uploadTestImage(uniqueName('rescue-server-image'), adminToken), uploadTestImage(uniqueName('rescue-image'), adminToken)]);
});

afterAll(async () => {
  for (const id of servers) await api('DELETE', `/compute/v2.1/servers/${id}`, { token: adminToken });
  for (const id of [imageId, rescueImageId]) if (id) await api('DELETE', `/image/v2/images/${id}`, { token: adminToken });
});

describe('rescue and unrescue', () => {
  it('rescues on the server image (200, the given adminPass), refuses what Nova refuses, unrescues to ACTIVE', async () => {
    const id = await boot(uniqueName('rescue'));
    expect((await act(id, { unrescue: null })).status).toBe(409);

    const res = await act(id, { rescue: { adminPass: 'MySecretPass' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ adminPass: 'MySecretPass' });
    const rescued = await settled(id, 'RESCUE');
    expect(rescued).toMatchObject({ 'OS-EXT-STS:vm_state': 'rescued', 'OS-EXT-STS:power_state': 1, image: { id: imageId } });
    await consoleSays(id, `rescued: booted rescue image ${imageId}`);

    // A rescued server only unrescues (or is deleted): a second rescue, a reboot, a stop are 409.
    for (const body of [{ rescue: null }, { reboot: { type: 'HARD' } }, { 'os-stop': null }, { rebuild: { imageRef: imageId } }]) {
      expect((await act(id, body)).status, JSON.stringify(body)).toBe(409);
    }

    expect((await act(id, { unrescue: null })).status).toBe(202);
    expect(await settled(id, 'ACTIVE')).toMatchObject({ 'OS-EXT-STS:power_state': 1, image: { id: imageId } });
    await consoleSays(id, `unrescued: booted image ${imageId}`);

    const actions = (await api('GET', `/compute/v2.1/servers/${id}/os-instance-actions`, { token: memberToken })).body.instanceActions as Server[];
    expect(actions.map((a) => a.action).slice(0, 2)).toEqual(['unrescue', 'rescue']);
  });

  it('rescues a stopped server on a named image (running afterwards, generated adminPass); a bad image is a 400', async () => {
    const id = await boot(uniqueName('rescue-stopped'));
    expect((await act(id, { rescue: { rescue_image_ref: '00000000-0000-4000-8000-000000000000' } })).body).toEqual({
      badRequest: { code: 400, message: "Requested rescue image '00000000-0000-4000-8000-000000000000' is not supported" },
    });
    expect((await act(id, { rescue: { rescue_image_ref: 'not-a-uuid' } })).status).toBe(400);
    expect((await act(id, { rescue: { other: 1 } })).status).toBe(400);
    expect((await show(id)).status).toBe('ACTIVE');

    await act(id, { 'os-stop': null });
    await settled(id, 'SHUTOFF');
    const res = await act(id, { rescue: { rescue_image_ref: rescueImageId } });
    expect(res.status).toBe(200);
    expect(res.body.adminPass).toMatch(/^\w{12}$/);
    expect((await settled(id, 'RESCUE'))['OS-EXT-STS:power_state']).toBe(1);
    await consoleSays(id, `rescued: booted rescue image ${rescueImageId}`);

    // Nova's unrescue leaves the server running, whatever it was before the rescue.
    await openstack(['server', 'unrescue', id], member);
    expect((await settled(id, 'ACTIVE'))['OS-EXT-STS:power_state']).toBe(1);
  }, 120_000);

  it('with the openstack CLI, and 409 while locked', async () => {
    const id = await boot(uniqueName('rescue-cli'));
    await act(id, { lock: null });
    expect((await act(id, { rescue: null })).status).toBe(409);
    await act(id, { unlock: null });
    await openstack(['server', 'rescue', '--image', rescueImageId, id], member);
    await settled(id, 'RESCUE');
    await consoleSays(id, `rescued: booted rescue image ${rescueImageId}`);
    await openstack(['server', 'unrescue', id], member);
    await settled(id, 'ACTIVE');
  }, 120_000);
});
