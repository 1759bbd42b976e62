import '../support/cloud-env.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import type { Instance } from '../../shared/domain/instance.js';
import { PowerState, TaskState, VmState } from '../../shared/domain/instance-states.js';
import type { ConductorMessage } from '../../shared/messages/conductor.js';
import { getAction, newAction, recordAction } from '../../shared/store/instance-actions.js';
import { createInstances, deadlineFor, getInstance, removeInstance } from '../../shared/store/instances.js';
import { makeQcow2 } from '../support/cli-artifacts.js';
import { adminCredentials, api, createProjectUser, issueToken, openstack, openstackJson, waitFor, type Credentials } from '../support/cloud.js';
import { newInstance, uniqueName } from '../support/fixtures.js';
import { deliver } from '../support/queue-events.js';

/**
 * Server actions end to end: the API records the intent and the task state, the host agent (fake
 * driver) acts, the conductor records the outcome. Through the HTTP API, a few through the real
 * `openstack` CLI, and the conductor's report handling in-process for repeated and stale reports.
 */
type Server = Record<string, any>;

let dir: string;
let member: Credentials;
let memberToken: string;
let adminToken: string;
let imageId: string;
let secondImageId: string;
const servers: string[] = [];
const images: string[] = [];

const show = async (id: string): Promise<Server> => (await api('GET', `/compute/v2.1/servers/${id}`, { token: adminToken })).body.server;
const act = (id: string, body: unknown, token = memberToken) => api('POST', `/compute/v2.1/servers/${id}/action`, { token, body });

/** Waits for a status with no task running. */
async function settled(id: string, status: string, timeoutMs = 30_000): Promise<Server> {
  return waitFor(`server ${id} ${status}`, async () => {
    const s = await show(id);
    if (s.status === 'ERROR' && status !== 'ERROR') throw new Error(`server went to ERROR: ${JSON.stringify(s.fault)}`);
    return s.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
  }, timeoutMs);
}

async function boot(name: string, image = imageId): Promise<string> {
  const res = await api('POST', '/compute/v2.1/servers', {
    token: memberToken,
    headers: { 'OpenStack-API-Version': 'compute 2.37' },
    body: { server: { name, imageRef: image, flavorRef: '1', networks: 'none' } },
  });
  expect(res.status).toBe(202);
  servers.push(res.body.server.id);
  await settled(res.body.server.id, 'ACTIVE');
  return res.body.server.id;
}

async function imageOf(name: string, path: string): Promise<string> {
  const row = await openstackJson(['image', 'create', '--file', path, '--disk-format', 'qcow2', '--container-format', 'bare', name], member);
  images.push(String(row.id));
  return String(row.id);
}

const actionsOf = async (id: string, token = memberToken) =>
  (await api('GET', `/compute/v2.1/servers/${id}/os-instance-actions`, { token })).body.instanceActions as Server[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novaless-server-actions-'));
  member = await createProjectUser(uniqueName('actions'));
  memberToken = await issueToken(member);
  adminToken = await issueToken(adminCredentials());
  const qcow2 = await makeQcow2(dir);
  imageId = await imageOf(uniqueName('actions-image'), qcow2.path);
  secondImageId = await imageOf(uniqueName('actions-image-2'), qcow2.path);
});

afterAll(async () => {
  for (const id of servers) await openstack(['server', 'delete', '--wait', id]).catch(() => undefined);
  for (const id of images) await openstack(['image', 'delete', id]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('power, reboot, pause and suspend through the API', () => {
  let id: string;
  beforeAll(async () => {
    id = await boot(uniqueName('power'));
  });

  it('stop → SHUTOFF, start → ACTIVE, with Nova 409s on the wrong states', async () => {
    expect((await act(id, { 'os-start': null })).body).toEqual({
      conflictingRequest: { code: 409, message: `Cannot 'start' instance ${id} while it is in vm_state active` },
    });
    const stop = await act(id, { 'os-stop': null });
    expect(stop.status).toBe(202);
    const stopped = await settled(id, 'SHUTOFF');
    expect(stopped['OS-EXT-STS:vm_state']).toBe('stopped');
    expect(stopped['OS-EXT-STS:power_state']).toBe(PowerState.SHUTDOWN);
    const again = await act(id, { 'os-stop': null });
    expect(again.status).toBe(409);
    expect(again.body.conflictingRequest.message).toBe(`Cannot 'stop' instance ${id} while it is in vm_state stopped`);
    expect((await act(id, { pause: null })).status).toBe(409);
    expect((await act(id, { reboot: { type: 'SOFT' } })).status).toBe(409);

    expect((await act(id, { 'os-start': null })).status).toBe(202);
    const started = await settled(id, 'ACTIVE');
    expect(started['OS-EXT-STS:power_state']).toBe(PowerState.RUNNING);
  });

  it('reboot SOFT and HARD end ACTIVE; a bad type is a 400', async () => {
    expect((await act(id, { reboot: { type: 'SOFT' } })).status).toBe(202);
    await settled(id, 'ACTIVE');
    expect((await act(id, { reboot: { type: 'HARD' } })).status).toBe(202);
    await settled(id, 'ACTIVE');
    expect((await act(id, { reboot: { type: 'MEDIUM' } })).status).toBe(400);
    expect((await act(id, { reboot: {} })).status).toBe(400);
  });

  it('pause/unpause and suspend/resume', async () => {
    expect((await act(id, { pause: null })).status).toBe(202);
    expect((await settled(id, 'PAUSED'))['OS-EXT-STS:power_state']).toBe(PowerState.PAUSED);
    expect((await act(id, { suspend: null })).status).toBe(409);
    expect((await act(id, { unpause: null })).status).toBe(202);
    await settled(id, 'ACTIVE');
    expect((await act(id, { suspend: null })).status).toBe(202);
    expect((await settled(id, 'SUSPENDED'))['OS-EXT-STS:power_state']).toBe(PowerState.SUSPENDED);
    expect((await act(id, { unpause: null })).body.conflictingRequest.message).toBe(`Cannot 'unpause' instance ${id} while it is in vm_state suspended`);
    expect((await act(id, { resume: null })).status).toBe(202);
    await settled(id, 'ACTIVE');
  });

  it('answers unknown actions, bad bodies and other projects as Nova does', async () => {
    expect((await act(id, { 'os-fly': null })).status).toBe(404);
    expect((await act(id, { pause: null, unpause: null })).status).toBe(400);
    const other = await createProjectUser(uniqueName('actions-other'));
    const otherToken = await issueToken(other);
    expect((await act(id, { 'os-stop': null }, otherToken)).status).toBe(404);
  });

  it('records every action with its request id, user, project and a finished event', async () => {
    const list = await actionsOf(id);
    expect(list.map((a) => a.action)).toEqual(['resume', 'suspend', 'unpause', 'pause', 'reboot', 'reboot', 'start', 'stop', 'create']);
    for (const a of list) {
      expect(a).toMatchObject({ instance_uuid: id, project_id: expect.any(String), user_id: expect.any(String), message: null });
      expect(a.request_id).toMatch(/^req-/);
      expect(a.start_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    }
    const stop = list.find((a) => a.action === 'stop')!;
    const shown = await api('GET', `/compute/v2.1/servers/${id}/os-instance-actions/${stop.request_id}`, { token: adminToken });
    expect(shown.status).toBe(200);
    expect(shown.body.instanceAction).toMatchObject({ action: 'stop', request_id: stop.request_id, instance_uuid: id });
    expect(shown.body.instanceAction.events).toEqual([
      { event: 'compute_stop_instance', start_time: expect.any(String), finish_time: expect.any(String), result: 'Success', traceback: null },
    ]);
    const create = list.find((a) => a.action === 'create')!;
    const created = await api('GET', `/compute/v2.1/servers/${id}/os-instance-actions/${create.request_id}`, { token: adminToken });
    expect(created.body.instanceAction.events[0]).toMatchObject({ event: 'compute__do_build_and_run_instance', result: 'Success' });
    // Below microversion 2.51 events are for admins only.
    const asMember = await api('GET', `/compute/v2.1/servers/${id}/os-instance-actions/${stop.request_id}`, { token: memberToken });
    expect(asMember.body.instanceAction.events).toBeUndefined();
    const missing = await api('GET', `/compute/v2.1/servers/${id}/os-instance-actions/req-nope`, { token: memberToken });
    expect(missing.status).toBe(404);
  });
});

describe('lock', () => {
  it('a locked server refuses a member (409) and lets an admin act; unlock frees it', async () => {
    const id = await boot(uniqueName('lock'));
    expect((await act(id, { lock: null })).status).toBe(202);
    const refused = await act(id, { 'os-stop': null });
    expect(refused.status).toBe(409);
    expect(refused.body.conflictingRequest.message).toBe(`Instance ${id} is locked`);
    expect((await api('DELETE', `/compute/v2.1/servers/${id}`, { token: memberToken })).status).toBe(409);
    // Snapshots and console output are not locked out (as in Nova).
    expect((await act(id, { 'os-getConsoleOutput': {} })).status).not.toBe(409);

    expect((await act(id, { 'os-stop': null }, adminToken)).status).toBe(202);
    await settled(id, 'SHUTOFF');
    expect((await act(id, { 'os-start': null }, adminToken)).status).toBe(202);
    await settled(id, 'ACTIVE');

    expect((await act(id, { unlock: null })).status).toBe(202);
    expect((await act(id, { pause: null })).status).toBe(202);
    await settled(id, 'PAUSED');
    const actions = (await actionsOf(id)).map((a) => a.action);
    expect(actions.slice(0, 5)).toEqual(['pause', 'unlock', 'start', 'stop', 'lock']);
  });
});

describe('console output', () => {
  it('reads the console log the host publishes, the last `length` lines', async () => {
    const id = await boot(uniqueName('console'));
    const full = await waitFor('a published console log', async () => {
      const res = await act(id, { 'os-getConsoleOutput': { length: -1 } });
      return res.status === 200 && res.body.output.includes('login:') ? res.body.output : undefined;
    }, 20_000);
    expect(full).toContain('fake: booting');
    const last = await act(id, { 'os-getConsoleOutput': { length: 1 } });
    expect(last.body.output.trim().split('\n')).toHaveLength(1);
    expect((await act(id, { 'os-getConsoleOutput': { length: '1' } })).body).toEqual(last.body);
    expect((await act(id, { 'os-getConsoleOutput': { length: 'ten' } })).status).toBe(400);
    // The log follows what happens to the guest.
    await act(id, { reboot: { type: 'HARD' } });
    await settled(id, 'ACTIVE');
    await waitFor('the reboot in the console log', async () => {
      // As in Nova, the empty piece after the log's final newline is one of the `length` "lines".
      const out = await openstack(['console', 'log', 'show', '--lines', '2', id], member);
      return out.includes('hard reboot') ? out : undefined;
    }, 20_000);
  });
});

describe('rebuild', () => {
  it('rebuilds with a new image: REBUILD, then ACTIVE on the new image; a stopped server stays SHUTOFF', async () => {
    const id = await boot(uniqueName('rebuild'));
    const res = await act(id, { rebuild: { imageRef: secondImageId, name: 'rebuilt', metadata: { k: 'v' } } });
    expect(res.status).toBe(202);
    expect(res.body.server).toMatchObject({ id, status: 'REBUILD', name: 'rebuilt', metadata: { k: 'v' }, image: { id: secondImageId } });
    expect(typeof res.body.server.adminPass).toBe('string');
    const rebuilt = await settled(id, 'ACTIVE');
    expect(rebuilt.image.id).toBe(secondImageId);

    expect((await act(id, { rebuild: { imageRef: '00000000-0000-4000-8000-000000000000' } })).status).toBe(400);
    await act(id, { 'os-stop': null });
    await settled(id, 'SHUTOFF');
    expect((await act(id, { rebuild: { imageRef: imageId } })).status).toBe(202);
    expect((await settled(id, 'SHUTOFF')).image.id).toBe(imageId);
    await act(id, { pause: null }).then((r) => expect(r.status).toBe(409));
  });
});

describe('createImage and the openstack CLI', () => {
  it('server stop/start/reboot/pause/unpause/suspend/resume/lock/unlock with the CLI', async () => {
    const id = await boot(uniqueName('cli'));
    const steps: [string[], string][] = [
      [['server', 'stop', id], 'SHUTOFF'],
      [['server', 'start', id], 'ACTIVE'],
      [['server', 'reboot', id], 'ACTIVE'],
      [['server', 'reboot', '--hard', id], 'ACTIVE'],
      [['server', 'pause', id], 'PAUSED'],
      [['server', 'unpause', id], 'ACTIVE'],
      [['server', 'suspend', id], 'SUSPENDED'],
      [['server', 'resume', id], 'ACTIVE'],
      [['server', 'lock', id], 'ACTIVE'],
    ];
    for (const [args, status] of steps) {
      await openstack(args, member);
      await settled(id, status);
    }
    await expect(openstack(['server', 'stop', id], member)).rejects.toThrow(/locked/);
    await openstack(['server', 'unlock', id], member);
    const events = await openstackJson<Server[]>(['server', 'event', 'list', id], member);
    expect(events.map((e) => e.Action)).toEqual(['unlock', 'lock', 'resume', 'suspend', 'unpause', 'pause', 'reboot', 'reboot', 'start', 'stop', 'create']);
    const shown = await openstackJson(['server', 'event', 'show', id, String(events[2]['Request ID'])]);
    expect(String(JSON.stringify(shown))).toContain('compute_resume_instance');
  }, 180_000); // thirteen CLI runs, each a Python start-up of seconds on a loaded machine

  it('server image create --wait gives an active image that boots', async () => {
    const id = await boot(uniqueName('snap'));
    const name = uniqueName('snapshot');
    const image = await openstackJson(['server', 'image', 'create', '--wait', '--name', name, id], member);
    images.push(String(image.id));
    expect(image).toMatchObject({ name, status: 'active', disk_format: 'raw', container_format: 'bare' });
    const glance = (await api('GET', `/image/v2/images/${image.id}`, { token: memberToken })).body;
    expect(glance).toMatchObject({ status: 'active', size: 0, checksum: 'd41d8cd98f00b204e9800998ecf8427e', os_hash_algo: 'sha512', image_type: 'snapshot', instance_uuid: id, base_image_ref: imageId });
    expect(glance.os_hash_value).toMatch(/^cf83e1357eefb8bd/);
    const server = await settled(id, 'ACTIVE');
    expect(server['OS-EXT-STS:task_state']).toBeNull();
    const actions = await actionsOf(id);
    expect(actions[0].action).toBe('createImage');
    const shown = await api('GET', `/compute/v2.1/servers/${id}/os-instance-actions/${actions[0].request_id}`, { token: adminToken });
    expect(shown.body.instanceAction.events[0]).toMatchObject({ event: 'compute_snapshot_instance', result: 'Success' });

    const fromSnapshot = await boot(uniqueName('from-snap'), String(image.id));
    expect((await show(fromSnapshot)).image.id).toBe(image.id);
  });

  it('createImage answers 202 with the image location, and 400 without a name', async () => {
    const id = await boot(uniqueName('snap-api'));
    const res = await act(id, { createImage: { name: uniqueName('snap-api-image') } });
    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/\/image\/v2\/images\/[0-9a-f-]{36}$/);
    const imageIdFromLocation = location.split('/').pop()!;
    images.push(imageIdFromLocation);
    await waitFor('the snapshot image active', async () => {
      const img = await api('GET', `/image/v2/images/${imageIdFromLocation}`, { token: memberToken });
      return img.body.status === 'active';
    });
    expect((await act(id, { createImage: {} })).status).toBe(400);
  });
});

describe('reports delivered twice or late change nothing twice', () => {
  const host = uniqueName('ghost-host');
  const made: string[] = [];

  async function instanceIn(vm: VmState, task: TaskState | null, action: Parameters<typeof newAction>[0]['action']) {
    const instance = newInstance(uniqueName('ghost-project'), {
      vm_state: vm,
      task_state: task,
      task_deadline: task ? deadlineFor(task) : null,
      host,
      power_state: PowerState.RUNNING,
    });
    await createInstances([instance], { instances: 100, cores: 100, ram: 100_000 });
    made.push(instance.id);
    const requestId = `req-${uniqueName('ghost')}`;
    await recordAction(newAction({ instanceId: instance.id, action, requestId, userId: 'u', projectId: instance.project_id }));
    return { instance, requestId };
  }

  const current = async (id: string): Promise<Instance> => (await getInstance(id))!;

  afterAll(async () => {
    for (const id of made) {
      const i = await getInstance(id);
      if (i) await removeInstance(i);
    }
  });

  it('action_done applies once, even delivered twice in one batch and again later', async () => {
    const { instance, requestId } = await instanceIn(VmState.ACTIVE, TaskState.PAUSING, 'pause');
    const done: ConductorMessage = {
      type: 'action_done',
      host,
      at: new Date().toISOString(),
      request_id: requestId,
      instance_id: instance.id,
      action: 'pause',
      started_at: new Date().toISOString(),
      power_state: PowerState.PAUSED,
    };
    await deliver(conductor, done, done);
    const after = await current(instance.id);
    expect(after).toMatchObject({ vm_state: 'paused', task_state: null, task_deadline: null, power_state: PowerState.PAUSED, version: instance.version + 1 });
    const event = (await getAction(instance.id, requestId))!.events.compute_pause_instance;
    expect(event).toMatchObject({ result: 'Success', done: true });
    await deliver(conductor, done);
    expect(await current(instance.id)).toEqual(after);
    expect((await getAction(instance.id, requestId))!.events.compute_pause_instance).toEqual(event);
  });

  it('a report for an action a later one replaced, or from another host, changes nothing', async () => {
    const { instance, requestId } = await instanceIn(VmState.ACTIVE, TaskState.REBOOTING_HARD, 'pause');
    // A hard reboot interrupted the pause: the reboot is the newest task.
    await new Promise((r) => setTimeout(r, 5));
    await recordAction(newAction({ instanceId: instance.id, action: 'reboot', requestId: `${requestId}-reboot`, userId: 'u', projectId: instance.project_id }));
    const stale: ConductorMessage = {
      type: 'action_done',
      host,
      at: new Date().toISOString(),
      request_id: requestId,
      instance_id: instance.id,
      action: 'pause',
      started_at: new Date().toISOString(),
      power_state: PowerState.PAUSED,
    };
    await deliver(conductor, stale, { ...stale, host: 'some-other-host', request_id: `${requestId}-reboot`, action: 'reboot' });
    expect(await current(instance.id)).toEqual(instance);
  });

  it('action_failed ends the task and keeps the vm_state (ERROR for a failed reboot), once', async () => {
    const { instance, requestId } = await instanceIn(VmState.ACTIVE, TaskState.SUSPENDING, 'suspend');
    const failed: ConductorMessage = {
      type: 'action_failed',
      host,
      at: new Date().toISOString(),
      request_id: requestId,
      instance_id: instance.id,
      action: 'suspend',
      started_at: new Date().toISOString(),
      power_state: PowerState.RUNNING,
      reason: 'no room for the memory image',
    };
    await deliver(conductor, failed, failed);
    const after = await current(instance.id);
    expect(after).toMatchObject({ vm_state: 'active', task_state: null, version: instance.version + 1 });
    const action = (await getAction(instance.id, requestId))!;
    expect(action.message).toBe('Error');
    expect(action.events.compute_suspend_instance).toMatchObject({ result: 'Error', traceback: 'no room for the memory image' });

    const reboot = await instanceIn(VmState.ACTIVE, TaskState.REBOOTING, 'reboot');
    await deliver(conductor, { ...failed, request_id: reboot.requestId, instance_id: reboot.instance.id, action: 'reboot', reason: 'guest vanished' });
    expect(await current(reboot.instance.id)).toMatchObject({ vm_state: 'error', task_state: null, fault: { code: 500 } });
  });

  it('a heartbeat syncs power states of idle instances only, and a guest that shut down stops its instance', async () => {
    const idle = await instanceIn(VmState.ACTIVE, null, 'pause');
    const busy = await instanceIn(VmState.ACTIVE, TaskState.POWERING_OFF, 'stop');
    const beat: ConductorMessage = {
      type: 'heartbeat',
      host,
      at: new Date().toISOString(),
      guests: [
        { instance_id: idle.instance.id, power_state: PowerState.SHUTDOWN },
        { instance_id: busy.instance.id, power_state: PowerState.SHUTDOWN },
      ],
    };
    await deliver(conductor, beat, beat);
    expect(await current(idle.instance.id)).toMatchObject({ vm_state: 'stopped', power_state: PowerState.SHUTDOWN, version: idle.instance.version + 1 });
    expect(await current(busy.instance.id)).toEqual(busy.instance);
    // A heartbeat older than the instance's last change is old news.
    const old = { ...beat, at: new Date(Date.now() - 60_000).toISOString(), guests: [{ instance_id: idle.instance.id, power_state: PowerState.RUNNING }] };
    await deliver(conductor, old);
    expect((await current(idle.instance.id)).power_state).toBe(PowerState.SHUTDOWN);
  });
});
