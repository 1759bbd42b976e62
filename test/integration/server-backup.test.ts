import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeQcow2 } from '../support/cli-artifacts.js';
import { adminCredentials, api, issueToken, openstack, openstackJson, waitFor } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * createBackup end to end on a fake-driver host: each backup is a snapshot image of type backup,
 * and once it is active the server's older backups of that type beyond `rotation` are deleted.
 */
type Body = Record<string, any>;

let dir: string;
let member: ProjectMember;
let serverId: string;
let imageId: string;
const at = (v: string) => ({ 'OpenStack-API-Version': `compute ${v}` });

const backup = (body: unknown, version = '2.45', id = serverId) =>
  api('POST', `/compute/v2.1/servers/${id}/action`, { token: member.token, headers: at(version), body: { createBackup: body } });

async function idle(): Promise<void> {
  await waitFor('server idle', async () => {
    const s = (await api('GET', `/compute/v2.1/servers/${serverId}`, { token: member.token })).body.server;
    return s.status === 'ACTIVE' && s['OS-EXT-STS:task_state'] === null;
  }, 60_000);
}

/** The server's active backups of a type, newest first. */
async function backupsOf(type: string): Promise<Body[]> {
  const images = (await api('GET', '/image/v2/images?limit=1000', { token: member.token })).body.images as Body[];
  return images
    .filter((i) => i.instance_uuid === serverId && i.image_type === 'backup' && i.backup_type === type && i.status === 'active')
    .sort((a, b) => b.created_at.localeCompare(a.created_at));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novaless-backup-'));
  member = await createProjectMember(uniqueName('backup'), await issueToken(adminCredentials()));
  const qcow2 = await makeQcow2(dir);
  imageId = String((await openstackJson(['image', 'create', '--file', qcow2.path, '--disk-format', 'qcow2', '--container-format', 'bare', uniqueName('backup-base')], member)).id);
  const res = await api('POST', '/compute/v2.1/servers', { token: member.token, headers: at('2.37'), body: { server: { name: 'backed-up', imageRef: imageId, flavorRef: '1', networks: 'none' } } });
  serverId = res.body.server.id;
  await idle();
});

afterAll(async () => {
  await openstack(['server', 'delete', '--wait', serverId]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('createBackup', () => {
  it('keeps the newest `rotation` backups of a type, deletes older ones, and records the action', async () => {
    const made: string[] = [];
    for (let n = 1; n <= 3; n++) {
      const res = await backup({ name: `daily-${n}`, backup_type: 'daily', rotation: 2 });
      expect(res.status).toBe(202);
      made.push(res.body.image_id);
      await idle();
      await waitFor(`backup ${n} active`, async () => (await backupsOf('daily')).some((i) => i.id === res.body.image_id), 30_000);
    }
    await waitFor('rotation', async () => (await backupsOf('daily')).length === 2, 30_000);
    expect((await backupsOf('daily')).map((i) => i.id)).toEqual([made[2], made[1]]);
    expect((await api('GET', `/image/v2/images/${made[0]}`, { token: member.token })).status).toBe(404);

    const actions = (await api('GET', `/compute/v2.1/servers/${serverId}/os-instance-actions`, { token: member.token })).body.instanceActions as Body[];
    expect(actions.filter((a) => a.action === 'createBackup')).toHaveLength(3);
  });

  it('rotation 0 keeps none of that type; below 2.45 the answer has no body, and a Location only for rotation > 0', async () => {
    const weekly = await backup({ name: 'weekly', backup_type: 'weekly', rotation: '0' }, '2.1');
    expect(weekly.status).toBe(202);
    expect(weekly.body).toBeUndefined();
    expect(weekly.headers.get('location')).toBeNull();
    await idle();
    expect(await backupsOf('weekly')).toEqual([]);
    expect((await backupsOf('daily')).length).toBe(2); // other types are not touched

    const located = await backup({ name: 'monthly', backup_type: 'monthly', rotation: 1 }, '2.1');
    expect(located.headers.get('location')).toMatch(/\/images\/[0-9a-f-]{36}$/);
    await idle();
  });

  it('refuses bad input with Nova’s 400 and an unknown server with 404', async () => {
    for (const body of [{ name: 'x', backup_type: 'daily', rotation: -1 }, { name: 'x', backup_type: 'daily', rotation: 'abc' }, { name: 'x', rotation: 1 }, { name: 'x', backup_type: 'daily', rotation: 1, extra: 1 }]) {
      const res = await backup(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.badRequest.code).toBe(400);
    }
    expect((await backup({ name: 'x', backup_type: 'daily', rotation: 1 }, '2.45', '00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
