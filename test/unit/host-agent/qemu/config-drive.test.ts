import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findIsoTool, writeConfigDrive } from '../../../../host-agent/config-drive/config-drive.js';
import { guestSpec, tempDir } from '../support.js';

const isoFile = (iso: string, path: string) => execFileSync('isoinfo', ['-R', '-i', iso, '-x', path]).toString();

describe('config drive', () => {
  it('is an ISO 9660 labelled config-2 with the OpenStack metadata, user data and network data', async () => {
    expect(await findIsoTool()).toBeDefined();
    const spec = guestSpec({
      name: 'web 1',
      hostname: 'web-1',
      project_id: 'proj-1',
      key_name: 'mykey',
      key_data: 'ssh-ed25519 AAAAC3Nza test@example',
      metadata: { role: 'web' },
      availability_zone: 'az-1',
      launch_index: 2,
      user_data: Buffer.from('#!/bin/sh\necho hello from user data\n').toString('base64'),
    });
    const iso = join(await tempDir('config-drive-'), 'disk.config.iso');
    const started = Date.now();
    await writeConfigDrive(spec, iso);
    const tookMs = Date.now() - started;

    expect(execFileSync('isoinfo', ['-d', '-i', iso]).toString()).toMatch(/Volume id: config-2/);
    const meta = JSON.parse(isoFile(iso, '/openstack/latest/meta_data.json'));
    expect(meta).toMatchObject({
      uuid: spec.instance_id,
      name: 'web 1',
      hostname: 'web-1',
      project_id: 'proj-1',
      availability_zone: 'az-1',
      launch_index: 2,
      meta: { role: 'web' },
      public_keys: { mykey: 'ssh-ed25519 AAAAC3Nza test@example' },
      keys: [{ name: 'mykey', type: 'ssh', data: 'ssh-ed25519 AAAAC3Nza test@example' }],
    });
    expect(isoFile(iso, '/openstack/latest/user_data')).toBe('#!/bin/sh\necho hello from user data\n');
    expect(JSON.parse(isoFile(iso, '/openstack/latest/network_data.json'))).toEqual({ links: [], networks: [], services: [] });
    // The plain ISO 9660 names carry the same (lower-case, as Nova's genisoimage flags make them).
    expect(JSON.parse(execFileSync('isoinfo', ['-i', iso, '-x', '/openstack/latest/meta_data.json;1']).toString())).toMatchObject({ uuid: spec.instance_id });
    expect(tookMs).toBeLessThan(2000);
  });

  it('has no user_data file and empty keys when none were given', async () => {
    const spec = guestSpec({ user_data: null, key_name: null, key_data: null });
    const iso = join(await tempDir('config-drive-'), 'disk.config.iso');
    await writeConfigDrive(spec, iso);
    const listing = execFileSync('isoinfo', ['-R', '-f', '-i', iso]).toString();
    expect(listing).toContain('/openstack/latest/meta_data.json');
    expect(listing).not.toContain('user_data');
    expect(JSON.parse(isoFile(iso, '/openstack/latest/meta_data.json')).public_keys).toEqual({});
  });
});
