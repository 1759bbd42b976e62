import type { GuestDiagnostics } from '../../../../shared/domain/guest-diagnostics.js';

/** nova/compute/power_state.py STATE_MAP: the names the 2.48 `state` field takes. */
const POWER_STATE_NAMES: Record<number, string> = { 0: 'pending', 1: 'running', 3: 'paused', 4: 'shutdown', 6: 'crashed', 7: 'suspended' };
export const powerStateName = (state: number) => POWER_STATE_NAMES[state] ?? 'pending';

/**
 * Before 2.48: the libvirt driver's get_diagnostics dict (cpu<N>_time, <disk>_read..., <tap>_rx...,
 * memory, memory-<stat>), key for key. A NIC whose tap could not be read has no keys, as libvirt
 * skips a failed interfaceStats.
 */
export function legacyDiagnostics(d: GuestDiagnostics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const cpu of d.cpus) out[`cpu${cpu.id}_time`] = cpu.time_ns;
  for (const disk of d.disks) {
    out[`${disk.device}_read_req`] = disk.read_requests;
    out[`${disk.device}_read`] = disk.read_bytes;
    out[`${disk.device}_write_req`] = disk.write_requests;
    out[`${disk.device}_write`] = disk.write_bytes;
    out[`${disk.device}_errors`] = disk.errors;
  }
  for (const nic of d.nics) {
    const counters = {
      rx: nic.rx_octets, rx_packets: nic.rx_packets, rx_errors: nic.rx_errors, rx_drop: nic.rx_drop,
      tx: nic.tx_octets, tx_packets: nic.tx_packets, tx_errors: nic.tx_errors, tx_drop: nic.tx_drop,
    };
    if (Object.values(counters).some((v) => v === null)) continue;
    for (const [name, value] of Object.entries(counters)) out[`${nic.device}_${name}`] = value!;
  }
  out.memory = d.memory.maximum_kib;
  out['memory-actual'] = d.memory.actual_kib;
  if (d.memory.rss_kib !== null) out['memory-rss'] = d.memory.rss_kib;
  return out;
}

/**
 * From 2.48: Nova's standard diagnostics (views/server_diagnostics.py). `driver` is `libvirt`:
 * the 2.48 schema allows only Nova's driver names, and the QEMU driver is the libvirt driver's
 * counterpart (same devices, same counters); `hypervisor` says kvm, qemu or fake. Memory in MiB
 * (maximum: the guest's RAM, used: its QEMU's resident memory); uptime from when its QEMU started.
 */
export function standardDiagnostics(d: GuestDiagnostics, now = Date.now()) {
  const started = d.started_at ? Date.parse(d.started_at) : NaN;
  return {
    state: powerStateName(d.power_state),
    driver: 'libvirt',
    hypervisor: d.hypervisor,
    hypervisor_os: d.hypervisor_os,
    uptime: Number.isFinite(started) ? Math.max(0, Math.floor((now - started) / 1000)) : null,
    config_drive: d.config_drive,
    num_cpus: d.cpus.length,
    num_disks: d.disks.length,
    num_nics: d.nics.length,
    memory_details: { maximum: Math.round(d.memory.maximum_kib / 1024), used: d.memory.rss_kib === null ? null : Math.round(d.memory.rss_kib / 1024) },
    cpu_details: d.cpus.map((c) => ({ id: c.id, time: c.time_ns, utilisation: c.utilisation })),
    disk_details: d.disks.map((k) => ({ read_bytes: k.read_bytes, read_requests: k.read_requests, write_bytes: k.write_bytes, write_requests: k.write_requests, errors_count: k.errors })),
    nic_details: d.nics.map((n) => ({
      mac_address: n.mac_address,
      rx_octets: n.rx_octets, rx_errors: n.rx_errors, rx_drop: n.rx_drop, rx_packets: n.rx_packets, rx_rate: n.rx_rate,
      tx_octets: n.tx_octets, tx_errors: n.tx_errors, tx_drop: n.tx_drop, tx_packets: n.tx_packets, tx_rate: n.tx_rate,
    })),
  };
}

/** What an instance record says of its guest, for the answer before its host's first sample. */
export interface UnsampledGuest {
  power_state: number;
  vcpus: number;
  ram_mb: number;
  launched_at: string | null;
  config_drive: boolean;
  mac_addresses: string[];
  /** The host's virt_type (kvm, qemu, fake). */
  hypervisor: string;
}

/** Before the first sample (a guest just booted, ~ one heartbeat): libvirt's `memory`, the one figure known without asking the guest. */
export const unsampledLegacyDiagnostics = (g: UnsampledGuest): Record<string, number> => ({ memory: g.ram_mb * 1024 });

/**
 * Before the first sample, from 2.48: every field, the counters null, as Nova answers while a
 * hypervisor's figures are not in yet (its Xen driver did for a guest's first seconds; the schema
 * allows null for each). Uptime counts from the launch.
 */
export function unsampledStandardDiagnostics(g: UnsampledGuest, now = Date.now()) {
  const launched = g.launched_at ? Date.parse(g.launched_at) : NaN;
  const disk = { read_bytes: null, read_requests: null, write_bytes: null, write_requests: null, errors_count: null };
  return {
    state: powerStateName(g.power_state),
    driver: 'libvirt',
    hypervisor: g.hypervisor,
    hypervisor_os: 'linux',
    uptime: Number.isFinite(launched) ? Math.max(0, Math.floor((now - launched) / 1000)) : null,
    config_drive: g.config_drive,
    num_cpus: g.vcpus,
    num_disks: g.config_drive ? 2 : 1,
    num_nics: g.mac_addresses.length,
    memory_details: { maximum: g.ram_mb, used: null },
    cpu_details: Array.from({ length: g.vcpus }, (_, id) => ({ id, time: null, utilisation: null })),
    disk_details: g.config_drive ? [disk, disk] : [disk],
    nic_details: g.mac_addresses.map((mac_address) => ({
      mac_address,
      rx_octets: null, rx_errors: null, rx_drop: null, rx_packets: null, rx_rate: null,
      tx_octets: null, tx_errors: null, tx_drop: null, tx_packets: null, tx_rate: null,
    })),
  };
}
