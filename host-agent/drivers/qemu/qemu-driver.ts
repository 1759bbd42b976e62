import type { Logger } from '@aws-lambda-powertools/logger';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ImageMeta } from '../../../shared/domain/instance.js';
import { PowerState } from '../../../shared/domain/instance-states.js';
import type { GuestNic, GuestSpec } from '../../../shared/messages/host.js';
import { Semaphore } from '../../concurrency.js';
import type { ImageCache } from '../../image-cache/image-cache.js';
import { execRunner, type CommandRunner } from '../../network/command-runner.js';
import {
  BaseComputeDriver,
  InvalidGuestState,
  type DriverInventory,
  type GuestInfo,
  type GuestSnapshot,
  type KnownGuest,
  type RebootType,
  type SpawnedGuest,
} from '../driver.js';
import type { DriverDiagnostics } from '../../../shared/domain/guest-diagnostics.js';
import { capConsoleLog, lastLines, readTail } from './console-log.js';
import { probeGuest } from './guest-diagnostics.js';
import { GuestLauncher } from './guest-launcher.js';
import { GuestPower } from './guest-power.js';
import { GuestRuntime } from './guest-runtime.js';
import { ensureGuestTaps } from './guest-taps.js';
import { instancePaths } from './instance-dir.js';
import type { VirtType } from './kvm-detect.js';
import { qemuImg } from './qemu-img.js';
import { plugNic, unplugNic } from './nic-hotplug.js';
import { qemuVersion, scanGuestProcesses } from './qemu-process.js';
import { powerStateOfRunState } from './run-states.js';
import { prepareRescueDisk, removeRescueDisk } from './rescue.js';

export interface QemuDriverOptions {
  /** The agent's state dir: guests live in `instances/`, snapshots in transit in `snapshots/`. */
  stateDir: string;
  images: ImageCache;
  /** Decided at agent start (see kvm-detect.ts): what every guest of this agent runs under. */
  virtType: VirtType;
  /** The network namespace of the host's data plane, where the guests' QEMUs run with their taps (config `network.netns`); absent = the agent's own. */
  netns?: string;
  /** Whether guests get their NICs: false where the data plane cannot run (not root), and they start without network. */
  networking?: boolean;
  /** How the guests' taps are read and made; tests give a fake one. */
  runner?: CommandRunner;
  log: Logger;
  /** Nova's max_concurrent_snapshots. */
  maxParallelSnapshots: number;
  /** How long a soft reboot waits for the guest to shut down before it resets it (Nova's wait_soft_reboot_seconds). */
  softRebootTimeoutSec?: number;
  /** How long QEMU gets to exit after `quit` before SIGKILL. */
  quitTimeoutMs?: number;
  /** How often console logs are cut back to their cap. */
  consoleCapEveryMs?: number;
  /** How long a detach waits for the guest to release the NIC (Nova's libvirt waits for DEVICE_DELETED too). */
  nicUnplugTimeoutMs?: number;
}

const BYTES_PER_GIB = 1024 ** 3;
/** sun_path holds 108 bytes with its terminating NUL (Node's net.connect refuses longer). */
const MAX_UNIX_SOCKET_PATH_BYTES = 107;

/**
 * Nova's libvirt driver, on QEMU directly: one daemonized QEMU process per guest, driven over
 * QMP, with all its files in `instances/<uuid>/`. The files are the truth: a guest exists while
 * its directory does; it runs while the QEMU named after it lives. So the agent can restart at
 * any time without touching the guests, and finds them again from the directory. The spec in
 * it (`spec.json`, NICs included) is what every later start (power on, reboot, resume) uses;
 * how a guest is made and started is in guest-launcher.ts, its process, QMP and power state in
 * guest-runtime.ts, its power operations and managed save in guest-power.ts.
 */
export class QemuDriver extends BaseComputeDriver {
  readonly name = 'qemu';
  readonly instancesDir: string;
  private readonly snapshotsDir: string;
  readonly snapshots: Semaphore;
  private readonly launcher: GuestLauncher;
  private readonly guests: GuestRuntime;
  private readonly power: GuestPower;
  private capTimer?: NodeJS.Timeout;

  constructor(private readonly options: QemuDriverOptions) {
    super();
    this.instancesDir = join(options.stateDir, 'instances');
    this.snapshotsDir = join(options.stateDir, 'snapshots');
    this.snapshots = new Semaphore(options.maxParallelSnapshots);
    const { images, virtType, netns, log } = options;
    this.launcher = new GuestLauncher({ images, virtType, netns, networking: options.networking ?? true, runner: options.runner ?? execRunner, log });
    this.guests = new GuestRuntime({ instancesDir: this.instancesDir, launcher: this.launcher, virtType, log, quitTimeoutMs: options.quitTimeoutMs });
    this.power = new GuestPower(this.guests, this.launcher, options);
  }

  async init(known: readonly KnownGuest[]): Promise<void> {
    const { log } = this.options;
    // Every spawn would fail on it: say so at start rather than register a host that boots nothing.
    const socket = instancePaths(this.instancesDir, '00000000-0000-0000-0000-000000000000').qmp;
    if (Buffer.byteLength(socket) > MAX_UNIX_SOCKET_PATH_BYTES) {
      throw new Error(
        `the state dir ${this.options.stateDir} is too long: a guest's QMP socket (${socket}) would have ${Buffer.byteLength(socket)} bytes, more than the ${MAX_UNIX_SOCKET_PATH_BYTES} a unix socket path may have`,
      );
    }
    await mkdir(this.instancesDir, { recursive: true });
    await rm(this.snapshotsDir, { recursive: true, force: true });
    await this.options.images.removeLeftovers();
    const knownIds = new Set(known.map((g) => g.instance_id));
    for (const guest of known.filter((g) => g.built)) {
      const info = await this.getInfo(guest.instance_id).catch(() => undefined);
      if (!info) log.warn('a guest the agent remembers has no instance directory', { instance_id: guest.instance_id });
      else log.info('re-attached to guest', { instance_id: guest.instance_id, power_state: info.power_state, recorded_power_state: guest.power_state });
    }
    for (const guest of await this.listGuests()) {
      if (!knownIds.has(guest.instance_id)) log.warn('found a guest this agent does not know; leaving it alone', { instance_id: guest.instance_id, power_state: guest.power_state });
    }
    clearInterval(this.capTimer);
    this.capTimer = setInterval(() => void this.capConsoles(), this.options.consoleCapEveryMs ?? 30_000);
    this.capTimer.unref();
  }

  /** Stops the driver's own timers (the guests keep running). */
  close(): void {
    clearInterval(this.capTimer);
  }

  async getInventory(): Promise<DriverInventory> {
    await mkdir(this.options.stateDir, { recursive: true });
    const fs = await statfs(this.options.stateDir);
    return {
      vcpus: cpus().length,
      memory_mb: Math.floor(totalmem() / 1024 / 1024),
      disk_gb: Math.max(1, Math.floor((fs.blocks * fs.bsize) / BYTES_PER_GIB)),
      hypervisor_type: 'QEMU',
      hypervisor_version: (await qemuVersion())?.number ?? 0,
      virt_type: this.options.virtType,
    };
  }

  /** Guests with an instance directory, plus QEMU processes of this agent's directory that lost theirs. */
  async listGuests(): Promise<GuestInfo[]> {
    const ids = await readdir(this.instancesDir).catch(() => [] as string[]);
    const guests: GuestInfo[] = [];
    for (const id of ids) {
      const info = await this.getInfo(id).catch(() => undefined);
      if (info) guests.push(info);
    }
    const listed = new Set(guests.map((g) => g.instance_id));
    for (const [id] of await scanGuestProcesses(this.instancesDir)) {
      if (!listed.has(id)) guests.push({ instance_id: id, power_state: PowerState.RUNNING });
    }
    return guests;
  }

  async getInfo(instanceId: string): Promise<GuestInfo> {
    return { instance_id: instanceId, power_state: await this.guests.powerState(instanceId) };
  }

  async spawn(spec: GuestSpec): Promise<SpawnedGuest> {
    return this.guests.exclusive(spec.instance_id, async () => {
      const paths = this.guests.paths(spec.instance_id);
      if (await this.guests.pidOf(spec.instance_id)) return { power_state: await this.guests.powerState(spec.instance_id, true), addresses: {} };
      await mkdir(paths.dir, { recursive: true, mode: 0o700 });
      await writeFile(paths.spec, `${JSON.stringify(spec, null, 2)}\n`);
      await this.launcher.prepareDisks(spec, paths);
      return { power_state: await this.guests.start(spec, paths), addresses: {} };
    });
  }

  /** Nova's rebuild: the same guest (uuid, flavor, config drive) on a fresh disk from `spec.image`. */
  async rebuild(spec: GuestSpec): Promise<SpawnedGuest> {
    return this.guests.exclusive(spec.instance_id, async () => {
      const paths = await this.guests.existing(spec.instance_id);
      await this.guests.stopProcess(spec.instance_id);
      await rm(paths.disk, { force: true });
      await rm(paths.suspended, { force: true });
      await writeFile(paths.spec, `${JSON.stringify(spec, null, 2)}\n`);
      await this.launcher.prepareDisks(spec, paths);
      return { power_state: await this.guests.start(spec, paths), addresses: {} };
    });
  }

  /** Nova's rescue and unrescue (rescue.ts): the guest starts from a rescue disk, its root disk second; then from its root disk again. */
  async rescue(instanceId: string, rescueImage: ImageMeta): Promise<void> {
    await this.guests.restartWith(instanceId, (paths) => prepareRescueDisk(this.options.images, rescueImage, paths));
  }
  async unrescue(instanceId: string): Promise<void> {
    await this.guests.restartWith(instanceId, removeRescueDisk);
  }

  async destroy(instanceId: string): Promise<void> {
    await this.guests.exclusive(instanceId, async () => {
      await this.guests.stopProcess(instanceId);
      await rm(this.guests.paths(instanceId).dir, { recursive: true, force: true });
      this.guests.lastKnown.delete(instanceId);
    });
  }

  /** Nova's power operations and suspend/resume (guest-power.ts). */
  reboot(instanceId: string, type: RebootType): Promise<void> {
    return this.power.reboot(instanceId, type);
  }
  powerOff(instanceId: string, timeoutSec: number): Promise<void> {
    return this.power.powerOff(instanceId, timeoutSec);
  }
  powerOn(instanceId: string): Promise<void> {
    return this.power.powerOn(instanceId);
  }
  pause(instanceId: string): Promise<void> {
    return this.power.pause(instanceId);
  }
  unpause(instanceId: string): Promise<void> {
    return this.power.unpause(instanceId);
  }
  suspend(instanceId: string): Promise<void> {
    return this.power.suspend(instanceId);
  }
  resume(instanceId: string): Promise<void> {
    return this.power.resume(instanceId);
  }

  /**
   * The NIC joins spec.json first (so every later start has it, whatever happens next), then a
   * running or paused guest gets it hot-plugged on its tap (made here if the data plane has not
   * made it yet). A stopped guest only has its spec changed; a suspended one refuses, since its
   * saved device state must match the devices it is restored with.
   */
  async attachInterface(instanceId: string, nic: GuestNic): Promise<void> {
    await this.changeNics(instanceId, 'attach interface', (nics) => [...nics.filter((n) => n.port_id !== nic.port_id), nic], async () => {
      if (this.options.networking === false) return;
      await ensureGuestTaps([nic], { runner: this.options.runner ?? execRunner, netns: this.options.netns, log: this.options.log });
      await this.guests.qmp(instanceId, (qmp) => plugNic(qmp, nic));
    });
  }

  /** The NIC leaves spec.json, then a running or paused guest has it unplugged (see nic-hotplug.ts). */
  async detachInterface(instanceId: string, portId: string): Promise<void> {
    await this.changeNics(instanceId, 'detach interface', (nics) => nics.filter((n) => n.port_id !== portId), () =>
      this.guests.qmp(instanceId, (qmp) => unplugNic(qmp, portId, this.options.nicUnplugTimeoutMs ?? 30_000)),
    );
  }

  /** QMP inject-nmi, as libvirt's injectNMI does it; a paused guest gets the NMI when it runs again. */
  async triggerCrashDump(instanceId: string): Promise<void> {
    await this.guests.exclusive(instanceId, async () => {
      await this.guests.requireState(instanceId, 'trigger crash dump', [PowerState.RUNNING, PowerState.PAUSED]);
      await this.guests.qmp(instanceId, (qmp) => qmp.execute('inject-nmi'));
    });
  }

  /**
   * Nova's get_instance_diagnostics, from QMP and /proc (guest-diagnostics.ts). A guest an
   * operation holds is not sampled (its QMP socket takes one client at a time): the next heartbeat will.
   */
  async getDiagnostics(instanceId: string): Promise<DriverDiagnostics> {
    const paths = await this.guests.existing(instanceId);
    if (this.guests.busy.has(instanceId)) throw new Error(`guest ${instanceId} is busy with an operation`);
    const pid = await this.guests.pidOf(instanceId);
    if (!pid) throw new InvalidGuestState(instanceId, 'get diagnostics', await this.guests.powerState(instanceId));
    const spec = await this.guests.specOf(paths);
    const nics = (this.options.networking ?? true) ? spec.nics : [];
    const runner = this.options.runner ?? execRunner;
    return this.guests.qmp(
      instanceId,
      async (qmp) => {
        const { status } = await qmp.execute<{ status: string }>('query-status');
        const figures = await probeGuest({ qmp, pid, nics, runner, netns: this.options.netns });
        // Every guest here has its config drive (guest-launcher.ts).
        return { driver: this.name, hypervisor: this.options.virtType, hypervisor_os: 'linux', power_state: powerStateOfRunState(status), config_drive: true, ...figures };
      },
      2000,
    );
  }

  private async changeNics(instanceId: string, operation: string, change: (nics: GuestNic[]) => GuestNic[], hotplug: () => Promise<void>): Promise<void> {
    await this.guests.exclusive(instanceId, async () => {
      const paths = await this.guests.existing(instanceId);
      const state = await this.guests.powerState(instanceId, true);
      if (state === PowerState.SUSPENDED) throw new InvalidGuestState(instanceId, operation, state);
      const spec = await this.guests.specOf(paths);
      // Replaced whole (written aside, then renamed): a crash leaves the old spec or the new one.
      await writeFile(`${paths.spec}.tmp`, `${JSON.stringify({ ...spec, nics: change(spec.nics) }, null, 2)}\n`);
      await rename(`${paths.spec}.tmp`, paths.spec);
      if (state === PowerState.RUNNING || state === PowerState.PAUSED) await hotplug();
    });
  }

  async getConsoleOutput(instanceId: string, lengthLines?: number): Promise<string> {
    const paths = await this.guests.existing(instanceId);
    return lastLines(await readTail(paths.console), lengthLines);
  }

  /**
   * The root disk as a standalone qcow2 (no backing file). A running guest is paused while the
   * disk is copied (QMP stop drains and flushes its I/O), so the copy is consistent.
   */
  async snapshot(instanceId: string, imageId: string): Promise<GuestSnapshot> {
    return this.snapshots.run(() =>
      this.guests.exclusive(instanceId, async () => {
        const paths = await this.guests.existing(instanceId);
        await mkdir(this.snapshotsDir, { recursive: true });
        const target = join(this.snapshotsDir, `${imageId}.qcow2`);
        const running = (await this.guests.powerState(instanceId, true)) === PowerState.RUNNING;
        if (running) await this.guests.qmp(instanceId, (qmp) => qmp.execute('stop'));
        try {
          await qemuImg(['convert', '-U', '-f', 'qcow2', '-O', 'qcow2', paths.disk, target]);
        } finally {
          if (running) await this.guests.qmp(instanceId, (qmp) => qmp.execute('cont'));
        }
        const { size } = await stat(target);
        return {
          disk_format: 'qcow2',
          container_format: 'bare',
          size_bytes: size,
          path: target,
          open: () => {
            const stream = createReadStream(target);
            stream.once('close', () => void rm(target, { force: true }));
            return stream;
          },
        };
      }),
    );
  }

  private async capConsoles(): Promise<void> {
    for (const id of await readdir(this.instancesDir).catch(() => [] as string[])) {
      await capConsoleLog(this.guests.paths(id).console).catch(() => undefined);
    }
  }
}
