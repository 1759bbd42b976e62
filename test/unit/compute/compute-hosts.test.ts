import { beforeAll, describe, expect, it } from 'vitest';
import { zoneDetail, zonesOf } from '../../../functions/api/compute/availability-zones.js';
import { legacyId } from '../../../functions/api/compute/compute-hosts.js';
import { hypervisorDetail, hypervisorStatistics, hypervisorSummary } from '../../../functions/api/compute/hypervisors.js';
import { serviceView } from '../../../functions/api/compute/services.js';
import { resetConfig } from '../../../shared/config.js';
import type { Host } from '../../../shared/domain/host.js';
import { hostRecord } from '../../support/fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

const host = (name: string, extra: Partial<Host> = {}): Host => hostRecord(name, { used_vcpus: 2, used_memory_mb: 2048, used_disk_gb: 20, running_vms: 1, ...extra });

beforeAll(() => {
  process.env.TABLE_NAME ??= 'novaless';
  process.env.SCHEDULER_QUEUE_URL ??= 'http://sqs.test/scheduler';
  process.env.CONDUCTOR_QUEUE_URL ??= 'http://sqs.test/conductor';
  process.env.IMAGE_BUCKET ??= 'images';
  resetConfig();
});

describe('compute services and hypervisors from hosts', () => {
  it('shows one nova-compute service per host, down once heartbeats stop', () => {
    expect(serviceView(host('metal1'), NOW)).toEqual({
      id: 3,
      binary: 'nova-compute',
      host: 'metal1',
      zone: 'nova',
      status: 'enabled',
      state: 'up',
      disabled_reason: null,
      updated_at: '2026-06-01T11:59:40Z',
    });
    expect(serviceView(host('metal1', { last_heartbeat: '2026-06-01T11:50:00Z' }), NOW).state).toBe('down');
    expect(serviceView(host('metal1', { forced_down: true }), NOW).state).toBe('down');
  });

  it('keeps non-numeric ids as strings', () => {
    expect(legacyId('12')).toBe(12);
    expect(legacyId('0b3e6a0c-4f6e-4f5a-9f0e-1d2c3b4a5968')).toBe('0b3e6a0c-4f6e-4f5a-9f0e-1d2c3b4a5968');
  });

  it('reports hypervisor usage in the 2.1 shape', () => {
    expect(hypervisorSummary(host('metal1'), NOW)).toEqual({ id: 7, hypervisor_hostname: 'metal1', state: 'up', status: 'enabled' });
    const detail = hypervisorDetail(host('metal1'), NOW);
    expect(detail).toMatchObject({
      vcpus: 8,
      vcpus_used: 2,
      memory_mb: 16384,
      memory_mb_used: 2048,
      free_ram_mb: 14336,
      local_gb: 200,
      local_gb_used: 20,
      free_disk_gb: 180,
      running_vms: 1,
      hypervisor_type: 'QEMU',
      host_ip: '10.0.0.7',
      service: { host: 'metal1', id: 3, disabled_reason: null },
    });
    expect(JSON.parse(detail.cpu_info)).toEqual({});
  });

  it('sums statistics over enabled hosts only', () => {
    const stats = hypervisorStatistics([host('a'), host('b'), host('c', { status: 'disabled' })]);
    expect(stats).toMatchObject({ count: 2, vcpus: 16, vcpus_used: 4, memory_mb: 32768, running_vms: 2, free_disk_gb: 360 });
  });
});

describe('availability zones from hosts', () => {
  const hosts = [
    host('a', { availability_zone: 'az1' }),
    host('b', { availability_zone: 'az1', status: 'disabled' }),
    host('c', { availability_zone: 'az2', status: 'disabled' }),
    host('d', { availability_zone: 'az3', last_heartbeat: '2026-06-01T10:00:00Z' }),
  ];

  it('makes a zone available when one of its services is enabled', () => {
    expect(zonesOf(hosts)).toEqual({ available: ['az1', 'az3'], unavailable: ['az2'] });
  });

  it('lists enabled hosts per available zone with liveness', () => {
    expect(zoneDetail(hosts, NOW).availabilityZoneInfo).toEqual([
      {
        zoneName: 'az1',
        zoneState: { available: true },
        hosts: { a: { 'nova-compute': { available: true, active: true, updated_at: '2026-06-01T11:59:40Z' } } },
      },
      {
        zoneName: 'az3',
        zoneState: { available: true },
        hosts: { d: { 'nova-compute': { available: false, active: true, updated_at: '2026-06-01T10:00:00Z' } } },
      },
      { zoneName: 'az2', zoneState: { available: false }, hosts: null },
    ]);
  });
});
