import { describe, expect, it } from 'vitest';
import { legacyDiagnostics, standardDiagnostics, unsampledLegacyDiagnostics, unsampledStandardDiagnostics } from '../../../functions/api/compute/views/server-diagnostics-view.js';
import { guestDiskName } from '../../../host-agent/drivers/qemu/guest-diagnostics.js';
import { FakeDriver } from '../../../host-agent/drivers/fake.js';
import { DiagnosticsSampler, withRates } from '../../../host-agent/guest-diagnostics-sampler.js';
import { guestSpec } from './support.js';
import type { GuestDiagnostics } from '../../../shared/domain/guest-diagnostics.js';

const nic = { device: 'tap0123456789a', mac_address: 'fa:16:3e:00:00:01', rx_octets: 1000, rx_packets: 10, rx_errors: 0, rx_drop: 0, tx_octets: 500, tx_packets: 5, tx_errors: 0, tx_drop: 0 };
const sample = (at: string, cpuNs: number, rx: number, startedAt = '2026-06-01T11:00:00.000Z') => ({
  instance_id: '11111111-2222-4333-8444-555555555555',
  sampled_at: at,
  driver: 'qemu',
  hypervisor: 'kvm',
  hypervisor_os: 'linux',
  power_state: 1,
  started_at: startedAt,
  config_drive: true,
  memory: { maximum_kib: 524288, actual_kib: 524288, rss_kib: 102400 },
  cpus: [{ id: 0, time_ns: cpuNs }],
  disks: [{ device: 'vda', read_bytes: 4096, read_requests: 1, write_bytes: 0, write_requests: 0, errors: 0 }],
  nics: [{ ...nic, rx_octets: rx }],
});

describe('guestDiskName', () => {
  it('names QEMU drives as libvirt targets do', () => {
    expect(['virtio0', 'virtio1', 'ide0-hd0', 'ide1-cd0', 'scsi0-hd0'].map(guestDiskName)).toEqual(['vda', 'vdb', 'hda', 'hdc', 'scsi0-hd0']);
  });
});

describe('withRates', () => {
  it('has no utilisation or rates for a first sample, nor across a restart of the guest', () => {
    const first = withRates(sample('2026-06-01T12:00:00.000Z', 1e9, 1000), undefined);
    expect(first.cpus[0].utilisation).toBeNull();
    expect(first.nics[0].rx_rate).toBeNull();
    const restarted = withRates(sample('2026-06-01T12:00:10.000Z', 2e9, 2000, '2026-06-01T12:00:05.000Z'), first);
    expect(restarted.cpus[0].utilisation).toBeNull();
  });

  it('computes vCPU utilisation (%) and NIC rates (bytes/s) between two samples of a run', () => {
    const first = withRates(sample('2026-06-01T12:00:00.000Z', 1e9, 1000), undefined);
    const second = withRates(sample('2026-06-01T12:00:10.000Z', 3.5e9, 6000), first);
    expect(second.cpus[0].utilisation).toBe(25);
    expect(second.nics[0].rx_rate).toBe(500);
    expect(second.nics[0].tx_rate).toBe(0);
  });
});

describe('the diagnostics views', () => {
  const d: GuestDiagnostics = withRates(sample('2026-06-01T12:00:00.000Z', 17_300_000_000, 2070139), undefined);

  it('below 2.48: the libvirt driver’s keys', () => {
    expect(legacyDiagnostics(d)).toEqual({
      cpu0_time: 17_300_000_000,
      vda_read: 4096, vda_read_req: 1, vda_write: 0, vda_write_req: 0, vda_errors: 0,
      tap0123456789a_rx: 2070139, tap0123456789a_rx_packets: 10, tap0123456789a_rx_errors: 0, tap0123456789a_rx_drop: 0,
      tap0123456789a_tx: 500, tap0123456789a_tx_packets: 5, tap0123456789a_tx_errors: 0, tap0123456789a_tx_drop: 0,
      memory: 524288, 'memory-actual': 524288, 'memory-rss': 102400,
    });
  });

  it('skips a NIC whose tap could not be read below 2.48, and shows it with nulls from 2.48', () => {
    const unread = { ...d, nics: [{ ...d.nics[0], rx_octets: null, rx_packets: null, rx_errors: null, rx_drop: null, tx_octets: null, tx_packets: null, tx_errors: null, tx_drop: null }] };
    expect(Object.keys(legacyDiagnostics(unread)).some((k) => k.startsWith('tap'))).toBe(false);
    expect(standardDiagnostics(unread).nic_details[0]).toMatchObject({ mac_address: nic.mac_address, rx_octets: null });
  });

  it('from 2.48: Nova’s standard format, uptime from the guest’s start', () => {
    expect(standardDiagnostics(d, Date.parse('2026-06-01T12:00:30.000Z'))).toEqual({
      state: 'running', driver: 'libvirt', hypervisor: 'kvm', hypervisor_os: 'linux', uptime: 3630, config_drive: true,
      num_cpus: 1, num_disks: 1, num_nics: 1,
      memory_details: { maximum: 512, used: 100 },
      cpu_details: [{ id: 0, time: 17_300_000_000, utilisation: null }],
      disk_details: [{ read_bytes: 4096, read_requests: 1, write_bytes: 0, write_requests: 0, errors_count: 0 }],
      nic_details: [{ mac_address: nic.mac_address, rx_octets: 2070139, rx_errors: 0, rx_drop: 0, rx_packets: 10, rx_rate: null, tx_octets: 500, tx_errors: 0, tx_drop: 0, tx_packets: 5, tx_rate: null }],
    });
  });
});

describe('DiagnosticsSampler', () => {
  it('samples running guests at most once per interval, and none that do not run', async () => {
    const driver = new FakeDriver({ inventory: { vcpus: 4, memory_mb: 4096, disk_gb: 40 } });
    await driver.init([]);
    const [a, b] = [guestSpec({ hostname: 'a' }), guestSpec({ hostname: 'b' })];
    await driver.spawn(a);
    await driver.spawn(b);
    await driver.powerOff(b.instance_id, 0);
    const sampler = new DiagnosticsSampler(driver, { debug: () => undefined });
    const first = await sampler.sample(await driver.listGuests(), 30_000);
    expect(first.map((s) => s.instance_id)).toEqual([a.instance_id]);
    expect(first[0]).toMatchObject({ driver: 'fake', hypervisor: 'fake', power_state: 1, memory: { maximum_kib: a.flavor.ram * 1024 } });
    expect(await sampler.sample(await driver.listGuests(), 30_000)).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    const again = await sampler.sample(await driver.listGuests(), 0);
    expect(again).toHaveLength(1);
    expect(again[0].cpus[0].utilisation).toEqual(expect.any(Number));
  });
});

describe('the diagnostics views before a first sample', () => {
  const guest = { power_state: 1, vcpus: 2, ram_mb: 512, launched_at: '2026-06-01T12:00:00.000Z', config_drive: true, mac_addresses: ['fa:16:3e:00:00:01'], hypervisor: 'qemu' };

  it('below 2.48: the memory, the one figure known', () => {
    expect(unsampledLegacyDiagnostics(guest)).toEqual({ memory: 524288 });
  });

  it('from 2.48: every field, the counters null', () => {
    const d = unsampledStandardDiagnostics(guest, Date.parse('2026-06-01T12:00:42.000Z'));
    expect(d).toMatchObject({ state: 'running', driver: 'libvirt', hypervisor: 'qemu', uptime: 42, num_cpus: 2, num_disks: 2, num_nics: 1, memory_details: { maximum: 512, used: null } });
    expect(d.cpu_details).toEqual([{ id: 0, time: null, utilisation: null }, { id: 1, time: null, utilisation: null }]);
    expect(d.nic_details[0]).toMatchObject({ mac_address: 'fa:16:3e:00:00:01', rx_octets: null, tx_rate: null });
  });
});
