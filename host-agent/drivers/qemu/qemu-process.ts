import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GuestNic } from '../../../shared/messages/host.js';
import type { VirtType } from './kvm-detect.js';
import type { InstancePaths } from './instance-dir.js';
import { nicPciSlot } from '../boot-nic-slots.js';

export const QEMU_BINARY = 'qemu-system-x86_64';

/** The `-name` every guest QEMU carries: how the agent recognises its guests among processes. */
export const guestMarker = (instanceId: string) => `guest=${instanceId}`;

export interface QemuGuestArgs {
  instanceId: string;
  paths: InstancePaths;
  vcpus: number;
  memoryMb: number;
  virtType: VirtType;
  /** Start from a suspended guest's saved state instead of booting. */
  incoming?: boolean;
  /** The guest's NICs in order (eth0 first); none = a guest without network. */
  nics?: readonly GuestNic[];
  /** In rescue (qemu/rescue.ts): the rescue disk, booted, with the root disk as the second disk. */
  rescueDisk?: string;
}

/**
 * The QEMU command line of a guest. i440fx (`-machine pc`): the root disk on virtio-blk, the
 * config drive as an IDE cdrom (readable by any guest kernel with ATA and ISO 9660), the serial
 * console on a unix socket for the console proxy and appended to a file QEMU writes itself
 * (chardev `logfile`: the log keeps all output, with or without a client, while the agent is
 * down too), QMP and VNC on unix sockets in the instance dir, one virtio-net NIC per port (see
 * nicArgs). Without -no-shutdown, QEMU exits when the guest powers off: a stopped guest is a
 * guest without a process.
 */
export function qemuArgs(guest: QemuGuestArgs): string[] {
  const { paths } = guest;
  const kvm = guest.virtType === 'kvm';
  return [
    '-name', `${guestMarker(guest.instanceId)},debug-threads=on`,
    '-uuid', guest.instanceId,
    '-machine', 'pc',
    '-accel', kvm ? 'kvm' : 'tcg',
    '-cpu', kvm ? 'host' : 'max',
    '-smp', String(guest.vcpus),
    '-m', String(guest.memoryMb),
    '-nodefaults', '-no-user-config',
    '-display', 'none',
    '-vga', 'std',
    '-vnc', `unix:${paths.vnc}`,
    '-rtc', 'base=utc',
    '-chardev', `socket,id=console,path=${paths.serial},server=on,wait=off,logfile=${paths.console},logappend=on`,
    '-serial', 'chardev:console',
    '-qmp', `unix:${paths.qmp},server=on,wait=off`,
    ...diskArgs(paths.disk, guest.rescueDisk),
    '-drive', `file=${paths.configDrive},format=raw,if=ide,media=cdrom,readonly=on`,
    ...nicArgs(guest.nics ?? []),
    '-pidfile', paths.pidfile,
    '-daemonize',
    ...(guest.incoming ? ['-incoming', `exec:cat ${shellQuote(paths.suspended)}`] : []),
  ];
}

/**
 * The root disk on virtio; in rescue, the rescue disk first (vda, boot index 0) and the root disk
 * second (vdb), as Nova's libvirt rescue attaches them.
 */
function diskArgs(rootDisk: string, rescueDisk?: string): string[] {
  if (!rescueDisk) return ['-drive', `file=${rootDisk},format=qcow2,if=virtio,discard=unmap`];
  return [
    '-drive', `file=${rescueDisk},format=qcow2,if=none,id=rescue-disk,discard=unmap`,
    '-device', 'virtio-blk-pci,drive=rescue-disk,bootindex=0',
    '-drive', `file=${rootDisk},format=qcow2,if=none,id=root-disk,discard=unmap`,
    '-device', 'virtio-blk-pci,drive=root-disk,bootindex=1',
  ];
}

/**
 * The QEMU ids of a port's NIC, named after the port as its tap is (its first 11 characters), so
 * that a NIC started with the guest and one hot-plugged later are found (and unplugged) alike.
 */
export const nicIds = (portId: string) => ({ netdev: `net-${portId.slice(0, 11)}`, device: `nic-${portId.slice(0, 11)}` });

/**
 * One virtio-net NIC per port, in order, each on the port's tap: a persistent tap the host's data
 * plane made and attached to the network's bridge (QEMU only opens it: no scripts). The MAC is
 * the port's; host_mtu tells the guest the network's MTU (virtio's MTU feature); the PCI slot is
 * the one the metadata names (boot-nic-slots.ts). vhost-net is
 * off: this kernel has none, and QEMU's userspace virtio-net is enough for TCG guests.
 */
export function nicArgs(nics: readonly GuestNic[]): string[] {
  if (!nics.length) return ['-nic', 'none'];
  return nics.flatMap((nic, index) => {
    const ids = nicIds(nic.port_id);
    const slot = nicPciSlot(index);
    const addr = slot === undefined ? '' : `,addr=0x${slot.toString(16)}`;
    return [
      '-netdev', `tap,id=${ids.netdev},ifname=${nic.tap_name},script=no,downscript=no,vhost=off`,
      '-device', `virtio-net-pci,id=${ids.device},netdev=${ids.netdev},mac=${nic.mac_address},host_mtu=${nic.mtu}${addr}`,
    ];
  });
}

/**
 * Starts a guest's QEMU as a daemon (it forks, calls setsid and writes its pidfile; the parent
 * exits once the guest is set up), so the guest outlives the agent: an agent restart, upgrade or
 * kill -9 never stops it. Resolves when QEMU is up, with its pid. With `netns`, QEMU runs in
 * that network namespace (`ip netns exec` execs it, so the pid is QEMU's): its taps are there,
 * while its QMP, VNC and console are unix sockets and files, reachable from anywhere.
 */
export async function launchQemu(args: string[], pidfile: string, netns?: string): Promise<number> {
  const [file, ...argv] = netns ? ['ip', 'netns', 'exec', netns, QEMU_BINARY, ...args] : [QEMU_BINARY, ...args];
  await new Promise<void>((resolve, reject) => {
    execFile(file, argv, { timeout: 60_000, maxBuffer: 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`QEMU did not start: ${String(stderr).trim() || error.message}`));
      else resolve();
    });
  });
  const pid = await readPid(pidfile);
  if (!pid) throw new Error(`QEMU started but wrote no pid to ${pidfile}`);
  return pid;
}

export async function readPid(pidfile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(pidfile, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is alive and is the QEMU of this guest (a pid can be reused by anything). */
export async function isGuestProcess(pid: number, instanceId: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.split('\0').some((arg) => arg.startsWith(guestMarker(instanceId)))) return false;
    // A zombie keeps its cmdline until reaped, but it no longer runs a guest.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function waitForExit(pid: number, instanceId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isGuestProcess(pid, instanceId)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * The guest QEMU processes of one agent, found by their `-name guest=<uuid>` marker and their
 * files in `instancesDir` (other agents on the same machine have their own).
 */
export async function scanGuestProcesses(instancesDir: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes('guest=') || !cmdline.includes(`${instancesDir}/`)) continue;
    const args = cmdline.split('\0');
    const nameAt = args.indexOf('-name');
    const match = nameAt >= 0 ? /^guest=([0-9a-f-]{36})(,|$)/.exec(args[nameAt + 1] ?? '') : null;
    if (match && (await isGuestProcess(Number(entry), match[1]))) found.set(match[1], Number(entry));
  }
  return found;
}

export async function qemuVersion(): Promise<{ text: string; number: number } | undefined> {
  return new Promise((resolve) => {
    execFile(QEMU_BINARY, ['--version'], (error, stdout) => {
      const match = /version\s+(\d+)\.(\d+)\.(\d+)/.exec(String(stdout));
      if (error || !match) return resolve(undefined);
      // Nova's hypervisor_version: major * 1000000 + minor * 1000 + micro.
      resolve({ text: `${match[1]}.${match[2]}.${match[3]}`, number: Number(match[1]) * 1_000_000 + Number(match[2]) * 1000 + Number(match[3]) });
    });
  });
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
