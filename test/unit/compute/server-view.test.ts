import { beforeAll, describe, expect, it } from 'vitest';
import { Microversion } from '../../../functions/api/compute/microversion.js';
import { hostStatusOf, serverDetail } from '../../../functions/api/compute/views/server-view.js';
import type { ApiRequest } from '../../../functions/api/http/types.js';
import { resetConfig } from '../../../shared/config.js';
import type { Host } from '../../../shared/domain/host.js';
import { VmState } from '../../../shared/domain/instance-states.js';
import { hostRecord, newInstance } from '../../support/fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

const host = (extra: Partial<Host> = {}): Host => hostRecord('metal1', extra);

const request = (version: string, admin: boolean): ApiRequest =>
  ({
    baseUrl: 'http://cloud.test',
    microversion: Microversion.parse(version),
    auth: { project_id: 'p1', roles: [{ id: 'r', name: admin ? 'admin' : 'member' }] },
  }) as ApiRequest;

const instance = newInstance('p1', {
  vm_state: VmState.ACTIVE,
  task_state: null,
  host: 'metal1',
  user_data: 'IyEvYmluL3NoCg==',
  description: 'described',
  tags: ['a', 'b'],
  locked: true,
});

beforeAll(() => {
  process.env.TABLE_NAME ??= 'novaless';
  process.env.SCHEDULER_QUEUE_URL ??= 'http://sqs.test/scheduler';
  process.env.CONDUCTOR_QUEUE_URL ??= 'http://sqs.test/conductor';
  process.env.IMAGE_BUCKET ??= 'images';
  resetConfig();
});

describe("host_status (Nova's get_instance_host_status)", () => {
  it('UP, MAINTENANCE when disabled, UNKNOWN once heartbeats stop, DOWN when forced down, empty without a host', () => {
    expect(hostStatusOf(host(), NOW)).toBe('UP');
    expect(hostStatusOf(host({ status: 'disabled' }), NOW)).toBe('MAINTENANCE');
    expect(hostStatusOf(host({ last_heartbeat: '2026-06-01T11:50:00Z' }), NOW)).toBe('UNKNOWN');
    expect(hostStatusOf(host({ last_heartbeat: '2026-06-01T11:50:00Z', status: 'disabled' }), NOW)).toBe('MAINTENANCE');
    expect(hostStatusOf(host({ forced_down: true, status: 'disabled' }), NOW)).toBe('DOWN');
    expect(hostStatusOf(undefined, NOW)).toBe('');
  });
});

describe('the server view by microversion', () => {
  const later = ['locked', 'host_status', 'description', 'tags', 'OS-EXT-SRV-ATTR:reservation_id', 'OS-EXT-SRV-ATTR:user_data'];
  const hosts = new Map([['metal1', host({ status: 'disabled' })]]);

  it('2.1 has none of the later fields, for admins either', () => {
    const view = serverDetail(request('2.1', true), instance, { hosts });
    for (const key of later) expect(view).not.toHaveProperty(key);
    expect(view['OS-EXT-SRV-ATTR:host']).toBe('metal1');
  });

  it('each field appears at its version', () => {
    const admin = (v: string) => serverDetail(request(v, true), instance, { hosts });
    expect(admin('2.2')).not.toHaveProperty('OS-EXT-SRV-ATTR:reservation_id');
    expect(admin('2.3')).toMatchObject({
      'OS-EXT-SRV-ATTR:reservation_id': instance.reservation_id,
      'OS-EXT-SRV-ATTR:launch_index': 0,
      'OS-EXT-SRV-ATTR:hostname': instance.hostname,
      'OS-EXT-SRV-ATTR:kernel_id': '',
      'OS-EXT-SRV-ATTR:ramdisk_id': '',
      'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
      'OS-EXT-SRV-ATTR:user_data': 'IyEvYmluL3NoCg==',
    });
    expect(admin('2.8')).not.toHaveProperty('locked');
    expect(admin('2.9').locked).toBe(true);
    expect(admin('2.15')).not.toHaveProperty('host_status');
    expect(admin('2.16').host_status).toBe('MAINTENANCE');
    expect(admin('2.18')).not.toHaveProperty('description');
    expect(admin('2.19').description).toBe('described');
    expect(admin('2.25')).not.toHaveProperty('tags');
    expect(admin('2.26').tags).toEqual(['a', 'b']);
  });

  it('members get locked, description and tags but no admin attributes or host_status', () => {
    const view = serverDetail(request('2.37', false), instance, { hosts });
    expect(view).toMatchObject({ locked: true, description: 'described', tags: ['a', 'b'] });
    for (const key of ['host_status', 'OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:reservation_id']) expect(view).not.toHaveProperty(key);
  });

  it('update and rebuild responses have only the core attributes (Nova before 2.75), even for admins', () => {
    const view = serverDetail(request('2.37', true), instance, { changeResponse: true });
    expect(view).toMatchObject({ locked: true, description: 'described', tags: ['a', 'b'], 'OS-DCF:diskConfig': 'MANUAL' });
    for (const key of ['host_status', 'OS-EXT-SRV-ATTR:reservation_id', 'OS-EXT-SRV-ATTR:host', 'OS-EXT-STS:vm_state', 'OS-EXT-AZ:availability_zone', 'key_name', 'config_drive', 'security_groups', 'OS-SRV-USG:launched_at', 'os-extended-volumes:volumes_attached']) {
      expect(view).not.toHaveProperty(key);
    }
  });
});
