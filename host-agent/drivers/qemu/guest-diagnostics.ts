import { readFile } from 'node:fs/promises';
import type { DriverDiagnostics } from '../../../shared/domain/guest-diagnostics.js';
import type { GuestNic } from '../../../shared/messages/host.js';
import type { CommandRunner } from '../../network/command-runner.js';
import { QmpCommandError, type QmpClient } from './qmp-client.js';

/**
 * What Nova's libvirt driver reads for get_diagnostics / get_instance_diagnostics, read here
 * from QEMU itself: vCPU threads (query-cpus-fast) and their CPU time (the kernel's schedstat of
 * each thread, as libvirt does), block counters (query-blockstats), RAM (query-memory-size-summary,
 * query-balloon) and the process's RSS, the guest's taps' counters (`ip -s link`, in the data
 * plane's namespace), and when the QEMU process started.
 */
export interface GuestProbe {
  qmp: QmpClient;
  pid: number;
  /** The NICs QEMU really has (none when the host runs guests without network). */
  nics: readonly GuestNic[];
  runner: CommandRunner;
  netns?: string;
}

interface CpuInfo {
  'cpu-index': number;
  'thread-id': number;
}
interface BlockStats {
  device: string;
  stats: { rd_bytes: number; wr_bytes: number; rd_operations: number; wr_operations: number; failed_rd_operations?: number; failed_wr_operations?: number };
}
interface LinkStats {
  ifname: string;
  stats64?: { rx: { bytes: number; packets: number; errors: number; dropped: number }; tx: { bytes: number; packets: number; errors: number; dropped: number } };
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times, is 100 on every architecture QEMU guests run on here. */
const TICKS_PER_SECOND = 100;

export async function probeGuest(probe: GuestProbe): Promise<Omit<DriverDiagnostics, 'driver' | 'hypervisor' | 'hypervisor_os' | 'power_state' | 'config_drive'>> {
  const { qmp, pid } = probe;
  const cpuInfo = await qmp.execute<CpuInfo[]>('query-cpus-fast');
  const blockStats = await qmp.execute<BlockStats[]>('query-blockstats');
  const { 'base-memory': baseMemory } = await qmp.execute<{ 'base-memory': number }>('query-memory-size-summary');
  const balloon = await qmp.execute<{ actual: number }>('query-balloon').catch((err) => {
    // A guest without a balloon device keeps all its RAM (libvirt answers memory-actual = maxMemory).
    if (err instanceof QmpCommandError) return { actual: baseMemory };
    throw err;
  });
  return {
    started_at: await processStart(pid),
    memory: { maximum_kib: Math.floor(baseMemory / 1024), actual_kib: Math.floor(balloon.actual / 1024), rss_kib: await residentKib(pid) },
    cpus: await Promise.all(cpuInfo.map(async (cpu) => ({ id: cpu['cpu-index'], time_ns: await threadCpuNs(pid, cpu['thread-id']) }))),
    disks: blockStats.map((b) => ({
      device: guestDiskName(b.device),
      read_bytes: b.stats.rd_bytes,
      read_requests: b.stats.rd_operations,
      write_bytes: b.stats.wr_bytes,
      write_requests: b.stats.wr_operations,
      errors: (b.stats.failed_rd_operations ?? 0) + (b.stats.failed_wr_operations ?? 0),
    })),
    nics: await nicCounters(probe),
  };
}

/** QEMU's drive ids (`-drive if=virtio` → virtio0, `if=ide` → ide0-cd0) as the guest names the disks (vda, hda), as libvirt's targets. */
export function guestDiskName(drive: string): string {
  const virtio = /^virtio(\d+)$/.exec(drive);
  if (virtio) return `vd${letter(Number(virtio[1]))}`;
  const ide = /^ide(\d+)-(?:cd|hd)(\d+)$/.exec(drive);
  if (ide) return `hd${letter(Number(ide[1]) * 2 + Number(ide[2]))}`;
  return drive;
}
const letter = (n: number) => String.fromCharCode(97 + n);

/** The CPU time a vCPU thread ran, in ns (schedstat's first field; stat's utime + stime where schedstats are off). */
async function threadCpuNs(pid: number, tid: number): Promise<number> {
  const schedstat = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => '');
  const runtime = Number(schedstat.split(' ')[0]);
  if (schedstat && Number.isFinite(runtime)) return runtime;
  const fields = statFields(await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
  return (Number(fields[13]) + Number(fields[14])) * (1e9 / TICKS_PER_SECOND);
}

async function residentKib(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) : null;
}

/** When the process started: its start in ticks after boot (stat field 22) plus the boot time (/proc/stat btime). */
async function processStart(pid: number): Promise<string | null> {
  const [stat, system] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/stat', 'utf8')]);
  const btime = /^btime (\d+)$/m.exec(system);
  const ticks = Number(statFields(stat)[21]);
  if (!btime || !Number.isFinite(ticks)) return null;
  return new Date(Number(btime[1]) * 1000 + (ticks * 1000) / TICKS_PER_SECOND).toISOString();
}

/** /proc/<pid>/stat's fields, numbered from 0 = pid; the command name (field 1) may hold spaces and parentheses. */
function statFields(stat: string): string[] {
  const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [stat.slice(0, stat.indexOf(' ')), '', ...afterName];
}

/** The taps' counters, swapped to the guest's view; a tap that cannot be read has no counters (libvirt skips it too). */
async function nicCounters({ nics, runner, netns }: GuestProbe): Promise<DriverDiagnostics['nics']> {
  if (!nics.length) return [];
  const links = JSON.parse(await runner.run('ip', ['-j', '-s', 'link', 'show'], { netns, timeoutMs: 5000 })) as LinkStats[];
  const byName = new Map(links.map((l) => [l.ifname, l.stats64]));
  return nics.map((nic) => {
    const stats = byName.get(nic.tap_name);
    const none = { rx_octets: null, rx_packets: null, rx_errors: null, rx_drop: null, tx_octets: null, tx_packets: null, tx_errors: null, tx_drop: null };
    if (!stats) return { device: nic.tap_name, mac_address: nic.mac_address, ...none };
    const { rx: tapIn, tx: tapOut } = stats;
    return {
      device: nic.tap_name,
      mac_address: nic.mac_address,
      rx_octets: tapOut.bytes,
      rx_packets: tapOut.packets,
      rx_errors: tapOut.errors,
      rx_drop: tapOut.dropped,
      tx_octets: tapIn.bytes,
      tx_packets: tapIn.packets,
      tx_errors: tapIn.errors,
      tx_drop: tapIn.dropped,
    };
  });
}
