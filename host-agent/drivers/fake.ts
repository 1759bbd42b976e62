import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DriverDiagnostics } from '../../shared/domain/guest-diagnostics.js';
import type { ImageMeta } from '../../shared/domain/instance.js';
import { PowerState } from '../../shared/domain/instance-states.js';
import type { GuestNic, GuestSpec } from '../../shared/messages/host.js';
import {
  BaseComputeDriver,
  GuestNotFound,
  InvalidGuestState,
  type DriverInventory,
  type GuestInfo,
  type GuestSnapshot,
  type KnownGuest,
  type RebootType,
  type SpawnedGuest,
} from './driver.js';

export interface FakeDriverOptions {
  inventory: { vcpus: number; memory_mb: number; disk_gb: number };
  /** How long a spawn takes, to make benchmarks and concurrency visible. */
  spawnDelayMs?: number;
}

interface FakeGuest {
  instance_id: string;
  spec: GuestSpec;
  power_state: PowerState;
  console: string[];
  /** NMIs injected (trigger_crash_dump). */
  nmis: number;
  /** When its current run began (spawn, power on, reboot, unpause, resume); null while it does not run. Its counters grow with the run. */
  runningSince: number | null;
  /** The image its rescue guest boots while it is in rescue (undefined otherwise). */
  rescueImageId?: string;
}

/** What a fake guest does per second of running, so its diagnostics move as a real idle guest's do. */
const FAKE_LOAD = { cpuShare: 0.02, bootReadBytes: 24 * 1024 * 1024, readBytesPerS: 2048, writeBytesPerS: 1024, rxBytesPerS: 240, txBytesPerS: 120, bytesPerPacket: 120, baseRssKib: 48 * 1024, rssKibPerS: 16 };

/**
 * Nova's fake driver: guests are bookkeeping only. What survives an agent restart is what the
 * agent's local state remembers and hands back at init.
 */
export class FakeDriver extends BaseComputeDriver {
  readonly name = 'fake';
  private readonly guests = new Map<string, FakeGuest>();
  /** Guests set aside by a move's source until its confirm or revert (migrateDiskAndPowerOff). */
  private readonly migrationCopies = new Map<string, FakeGuest>();

  constructor(private readonly options: FakeDriverOptions) {
    super();
  }

  async init(known: readonly KnownGuest[]): Promise<void> {
    this.guests.clear();
    // An unfinished fake build left nothing behind: only finished guests come back.
    for (const guest of known.filter((g) => g.built)) {
      this.guests.set(guest.instance_id, {
        instance_id: guest.instance_id,
        spec: guest.spec,
        power_state: guest.power_state,
        console: [`fake: re-attached to guest ${guest.instance_id}`],
        nmis: 0,
        runningSince: guest.power_state === PowerState.RUNNING ? Date.now() : null,
      });
    }
  }

  async getInventory(): Promise<DriverInventory> {
    return {
      ...this.options.inventory,
      hypervisor_type: 'fake',
      hypervisor_version: 1000,
      virt_type: 'fake',
    };
  }

  async listGuests(): Promise<GuestInfo[]> {
    return [...this.guests.values()].map(infoOf);
  }

  async getInfo(instanceId: string): Promise<GuestInfo> {
    return infoOf(this.guest(instanceId));
  }

  async spawn(spec: GuestSpec): Promise<SpawnedGuest> {
    if (this.options.spawnDelayMs) await sleep(this.options.spawnDelayMs);
    const existing = this.guests.get(spec.instance_id);
    if (existing) return { power_state: existing.power_state, addresses: {} };
    this.guests.set(spec.instance_id, {
      instance_id: spec.instance_id,
      spec,
      power_state: PowerState.RUNNING,
      console: [`fake: booting ${spec.hostname} (${spec.flavor.vcpus} vCPU, ${spec.flavor.ram} MB, image ${spec.image_id})`, `${spec.hostname} login:`],
      nmis: 0,
      runningSince: Date.now(),
    });
    return { power_state: PowerState.RUNNING, addresses: {} };
  }

  async rebuild(spec: GuestSpec): Promise<SpawnedGuest> {
    const guest = this.guest(spec.instance_id);
    guest.spec = spec;
    this.transition(guest, PowerState.RUNNING, `rebuilt from image ${spec.image_id}`);
    return { power_state: PowerState.RUNNING, addresses: {} };
  }

  /** Nova's rescue: powered off, then running on the rescue image (the fake has no disks to attach). */
  async rescue(instanceId: string, rescueImage: ImageMeta): Promise<void> {
    const guest = this.guest(instanceId);
    guest.rescueImageId = rescueImage.id;
    this.transition(guest, PowerState.RUNNING, `rescued: booted rescue image ${rescueImage.id} with disk of image ${guest.spec.image_id} attached`);
  }

  async unrescue(instanceId: string): Promise<void> {
    const guest = this.guest(instanceId);
    guest.rescueImageId = undefined;
    this.transition(guest, PowerState.RUNNING, `unrescued: booted image ${guest.spec.image_id}`);
  }

  /** The image the guest's rescue boots, undefined when it is not in rescue (tests). */
  rescueImageOf(instanceId: string): string | undefined {
    return this.guest(instanceId).rescueImageId;
  }

  async migrateDiskAndPowerOff(instanceId: string, timeoutSec: number): Promise<void> {
    if (this.migrationCopies.has(instanceId) && !this.guests.has(instanceId)) return;
    await this.powerOff(instanceId, timeoutSec);
    this.migrationCopies.set(instanceId, this.guest(instanceId));
    this.guests.delete(instanceId);
  }

  async hasMigrationCopy(instanceId: string): Promise<boolean> {
    return this.migrationCopies.has(instanceId);
  }

  async finishMigration(spec: GuestSpec, powerOn: boolean): Promise<SpawnedGuest> {
    const existing = this.guests.get(spec.instance_id);
    if (existing) return { power_state: existing.power_state, addresses: {} };
    const power = powerOn ? PowerState.RUNNING : PowerState.SHUTDOWN;
    const line = `fake: migrated here as ${spec.hostname} (${spec.flavor.vcpus} vCPU, ${spec.flavor.ram} MB, ${spec.flavor.disk} GB)`;
    this.guests.set(spec.instance_id, { instance_id: spec.instance_id, spec, power_state: power, console: [line], nmis: 0, runningSince: powerOn ? Date.now() : null });
    return { power_state: power, addresses: {} };
  }

  async confirmMigration(instanceId: string): Promise<void> {
    this.migrationCopies.delete(instanceId);
  }

  async finishRevertMigration(spec: GuestSpec, powerOn: boolean): Promise<SpawnedGuest> {
    const copy = this.migrationCopies.get(spec.instance_id);
    if (!copy) {
      const guest = this.guest(spec.instance_id);
      return { power_state: guest.power_state, addresses: {} };
    }
    this.guests.set(spec.instance_id, { ...copy, spec });
    this.migrationCopies.delete(spec.instance_id);
    if (powerOn) await this.powerOn(spec.instance_id);
    return { power_state: this.guest(spec.instance_id).power_state, addresses: {} };
  }

  /** The flavor a guest runs with (tests). */
  flavorOf(instanceId: string): GuestSpec['flavor'] {
    return this.guest(instanceId).spec.flavor;
  }

  async destroy(instanceId: string): Promise<void> {
    this.guests.delete(instanceId);
  }

  async reboot(instanceId: string, type: RebootType): Promise<void> {
    const guest = this.guest(instanceId);
    // A soft reboot asks the running OS; a hard reboot resets whatever state the guest is in.
    if (type === 'SOFT') this.require(guest, 'soft reboot', [PowerState.RUNNING]);
    this.transition(guest, PowerState.RUNNING, `${type.toLowerCase()} reboot`);
  }

  async powerOff(instanceId: string, timeoutSec: number): Promise<void> {
    const guest = this.guest(instanceId);
    if (guest.power_state === PowerState.SHUTDOWN) return;
    this.transition(guest, PowerState.SHUTDOWN, timeoutSec > 0 ? 'ACPI shutdown' : 'forced power off');
  }

  async powerOn(instanceId: string): Promise<void> {
    const guest = this.guest(instanceId);
    if (guest.power_state === PowerState.RUNNING) return;
    this.require(guest, 'power on', [PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.NOSTATE]);
    this.transition(guest, PowerState.RUNNING, 'power on');
  }

  async pause(instanceId: string): Promise<void> {
    const guest = this.guest(instanceId);
    this.require(guest, 'pause', [PowerState.RUNNING]);
    this.transition(guest, PowerState.PAUSED, 'paused');
  }

  async unpause(instanceId: string): Promise<void> {
    const guest = this.guest(instanceId);
    this.require(guest, 'unpause', [PowerState.PAUSED]);
    this.transition(guest, PowerState.RUNNING, 'unpaused');
  }

  async suspend(instanceId: string): Promise<void> {
    const guest = this.guest(instanceId);
    this.require(guest, 'suspend', [PowerState.RUNNING, PowerState.PAUSED]);
    this.transition(guest, PowerState.SUSPENDED, 'suspended to disk');
  }

  async resume(instanceId: string): Promise<void> {
    const guest = this.guest(instanceId);
    this.require(guest, 'resume', [PowerState.SUSPENDED]);
    this.transition(guest, PowerState.RUNNING, 'resumed');
  }

  async getConsoleOutput(instanceId: string, lengthLines?: number): Promise<string> {
    const lines = this.guest(instanceId).console;
    const tail = lengthLines === undefined ? lines : lines.slice(Math.max(0, lines.length - lengthLines));
    return tail.map((line) => `${line}\n`).join('');
  }

  async snapshot(instanceId: string, _imageId: string): Promise<GuestSnapshot> {
    this.guest(instanceId);
    // A fake guest has no disk: its snapshot is an empty raw image.
    return { disk_format: 'raw', container_format: 'bare', size_bytes: 0, open: () => Readable.from([]) };
  }

  /** The NIC joins the guest's spec (replacing one of the same port: a command seen twice). */
  async attachInterface(instanceId: string, nic: GuestNic): Promise<void> {
    const guest = this.guest(instanceId);
    this.require(guest, 'attach interface', [PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTDOWN]);
    guest.spec = { ...guest.spec, nics: [...guest.spec.nics.filter((n) => n.port_id !== nic.port_id), nic] };
    guest.console.push(`fake: attached interface ${nic.tap_name} (port ${nic.port_id}, mac ${nic.mac_address})`);
  }

  async detachInterface(instanceId: string, portId: string): Promise<void> {
    const guest = this.guest(instanceId);
    if (!guest.spec.nics.some((n) => n.port_id === portId)) return;
    guest.spec = { ...guest.spec, nics: guest.spec.nics.filter((n) => n.port_id !== portId) };
    guest.console.push(`fake: detached interface of port ${portId}`);
  }

  /** The NMI is counted and shows on the console; the fake guest carries on, as a kernel without kdump or panic_on_unrecovered_nmi does. */
  async triggerCrashDump(instanceId: string): Promise<void> {
    const guest = this.guest(instanceId);
    this.require(guest, 'trigger crash dump', [PowerState.RUNNING, PowerState.PAUSED]);
    guest.nmis++;
    guest.console.push('fake: NMI injected (trigger_crash_dump)');
  }

  /**
   * Figures from the fake guest's own bookkeeping: its flavor, disks and NICs, and counters that
   * grow with the time it has run (FAKE_LOAD), restarting with each run as a real guest's do.
   */
  async getDiagnostics(instanceId: string): Promise<DriverDiagnostics> {
    const guest = this.guest(instanceId);
    if (guest.runningSince === null) throw new InvalidGuestState(instanceId, 'get diagnostics', guest.power_state);
    const runS = (Date.now() - guest.runningSince) / 1000;
    const ramKib = guest.spec.flavor.ram * 1024;
    const disk = (device: string, readBytes: number, writeBytes: number) => ({
      device,
      read_bytes: Math.round(readBytes),
      read_requests: Math.round(readBytes / 4096),
      write_bytes: Math.round(writeBytes),
      write_requests: Math.round(writeBytes / 4096),
      errors: 0,
    });
    const traffic = (bytes: number) => ({ octets: Math.round(bytes), packets: Math.round(bytes / FAKE_LOAD.bytesPerPacket) });
    return {
      driver: this.name,
      hypervisor: 'fake',
      hypervisor_os: 'linux',
      power_state: guest.power_state,
      started_at: new Date(guest.runningSince).toISOString(),
      config_drive: guest.spec.config_drive,
      memory: { maximum_kib: ramKib, actual_kib: ramKib, rss_kib: Math.min(ramKib, Math.round(FAKE_LOAD.baseRssKib + FAKE_LOAD.rssKibPerS * runS)) },
      cpus: Array.from({ length: guest.spec.flavor.vcpus }, (_, id) => ({ id, time_ns: Math.round(runS * FAKE_LOAD.cpuShare * 1e9) })),
      disks: [
        disk('vda', FAKE_LOAD.bootReadBytes + FAKE_LOAD.readBytesPerS * runS, FAKE_LOAD.writeBytesPerS * runS),
        ...(guest.spec.config_drive ? [disk('hda', 64 * 1024, 0)] : []),
      ],
      nics: guest.spec.nics.map((nic) => {
        const [rx, tx] = [traffic(FAKE_LOAD.rxBytesPerS * runS), traffic(FAKE_LOAD.txBytesPerS * runS)];
        return { device: nic.tap_name, mac_address: nic.mac_address, rx_octets: rx.octets, rx_packets: rx.packets, rx_errors: 0, rx_drop: 0, tx_octets: tx.octets, tx_packets: tx.packets, tx_errors: 0, tx_drop: 0 };
      }),
    };
  }

  /** How many NMIs the guest was sent (tests). */
  nmisOf(instanceId: string): number {
    return this.guest(instanceId).nmis;
  }

  /** The guest's NICs as the fake hypervisor has them (tests). */
  nicsOf(instanceId: string): GuestNic[] {
    return this.guest(instanceId).spec.nics;
  }

  private guest(instanceId: string): FakeGuest {
    const guest = this.guests.get(instanceId);
    if (!guest) throw new GuestNotFound(instanceId);
    return guest;
  }

  private require(guest: FakeGuest, operation: string, allowed: PowerState[]): void {
    if (!allowed.includes(guest.power_state)) throw new InvalidGuestState(guest.instance_id, operation, guest.power_state);
  }

  private transition(guest: FakeGuest, to: PowerState, event: string): void {
    // Every transition ends the current run (a reboot is a new one); one into RUNNING starts the next.
    guest.runningSince = to === PowerState.RUNNING ? Date.now() : null;
    guest.power_state = to;
    guest.console.push(`fake: ${event}`);
  }
}

function infoOf(guest: FakeGuest): GuestInfo {
  return { instance_id: guest.instance_id, power_state: guest.power_state };
}
