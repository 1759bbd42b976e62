import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { DriverDiagnostics } from '../../shared/domain/guest-diagnostics.js';
import { HostInventorySchema } from '../../shared/domain/host.js';
import type { ImageMeta } from '../../shared/domain/instance.js';
import type { PowerState } from '../../shared/domain/instance-states.js';
import type { GuestNic, GuestSpec } from '../../shared/messages/host.js';

/**
 * The contract every hypervisor driver implements, modelled on Nova's nova/virt/driver.py
 * ComputeDriver. The agent owns the bookkeeping (local state, reports, idempotency); a driver
 * only acts on guests and says what is really there.
 *
 * Guests may outlive the agent (QEMU processes keep running across an agent restart), so a
 * driver starts with init(known): the guests the agent's local state remembers, for it to
 * re-attach to. After init, listGuests() and getInfo() tell the truth about the hypervisor,
 * which may differ from what the agent remembers (a guest that died while the agent was down).
 */
export interface ComputeDriver {
  readonly name: string;

  /** Nova's init_host: prepare the host and re-attach to the guests the agent knows about. */
  init(known: readonly KnownGuest[]): Promise<void>;
  /** Nova's get_available_resource: the host's capacity, before allocation ratios. */
  getInventory(): Promise<DriverInventory>;
  /** Nova's list_instance_uuids, with each guest's power state (for heartbeats and power sync). */
  listGuests(): Promise<GuestInfo[]>;
  /** Nova's get_info. Throws GuestNotFound for a guest the driver does not have. */
  getInfo(instanceId: string): Promise<GuestInfo>;

  /** Builds and starts a guest. On failure the driver may leave debris: the caller destroys. */
  spawn(spec: GuestSpec): Promise<SpawnedGuest>;
  /** Stops the guest and removes its disks. Destroying a guest the driver does not have is not an error. */
  destroy(instanceId: string): Promise<void>;

  reboot(instanceId: string, type: RebootType): Promise<void>;
  /** Asks the guest to shut down (ACPI) and forces it off after timeoutSec; 0 forces at once. */
  powerOff(instanceId: string, timeoutSec: number): Promise<void>;
  powerOn(instanceId: string): Promise<void>;
  pause(instanceId: string): Promise<void>;
  unpause(instanceId: string): Promise<void>;
  suspend(instanceId: string): Promise<void>;
  resume(instanceId: string): Promise<void>;
  /** The tail of the guest's serial console, the last lengthLines lines when given. */
  getConsoleOutput(instanceId: string, lengthLines?: number): Promise<string>;
  /** Captures the guest's root disk as an image for the agent to upload under imageId. */
  snapshot(instanceId: string, imageId: string): Promise<GuestSnapshot>;
  /** Nova's rebuild: the same guest on a fresh root disk from spec.image (the new image), started again. */
  rebuild(spec: GuestSpec): Promise<SpawnedGuest>;
  /**
   * Nova's migrate_disk_and_power_off, on a move's source: powers the guest off and sets it aside
   * as the move's copy (no longer a guest of this host, kept until confirm or revert). A guest set
   * aside already is left so.
   */
  migrateDiskAndPowerOff(instanceId: string, timeoutSec: number): Promise<void>;
  /** Whether a move's copy of the guest is set aside here. */
  hasMigrationCopy(instanceId: string): Promise<boolean>;
  /** Nova's finish_migration, on the destination: the guest from the moved disk, with spec's (new) flavor, started when powerOn. A guest built already is left as it is. */
  finishMigration(spec: GuestSpec, powerOn: boolean): Promise<SpawnedGuest>;
  /** Nova's confirm_migration, on the source: the copy set aside goes. Idempotent. */
  confirmMigration(instanceId: string): Promise<void>;
  /** Nova's finish_revert_migration, on the source: the copy set aside is the guest again, with spec's (old) flavor, started when powerOn. */
  finishRevertMigration(spec: GuestSpec, powerOn: boolean): Promise<SpawnedGuest>;
  /**
   * Nova's rescue: the guest (stopped first, whatever its power state) boots `rescueImage` on a
   * fresh rescue disk, with its own root disk attached as the second disk and its NICs and config
   * drive kept; it runs afterwards. Rescuing a guest in rescue already starts it on a fresh rescue disk.
   */
  rescue(instanceId: string, rescueImage: ImageMeta): Promise<void>;
  /** Nova's unrescue: the rescue guest and its disk go, the guest boots its own root disk again. A guest not in rescue is only started. */
  unrescue(instanceId: string): Promise<void>;
  /**
   * Nova's attach_interface: hot-plugs the NIC into a running (or paused) guest and keeps it in
   * the guest's spec, so every later start has it; a stopped guest only gets it in its spec.
   * Attaching a NIC the guest has already changes nothing.
   */
  attachInterface(instanceId: string, nic: GuestNic): Promise<void>;
  /** Nova's detach_interface: unplugs the port's NIC and drops it from the spec; a NIC the guest does not have is detached already. */
  detachInterface(instanceId: string, portId: string): Promise<void>;
  /**
   * Nova's trigger_crash_dump: injects an NMI into a running or paused guest. Done when the
   * hypervisor took it; what the guest does with it (a kdump, a panic, a log line) is up to its kernel.
   */
  triggerCrashDump(instanceId: string): Promise<void>;
  /**
   * Nova's get_diagnostics / get_instance_diagnostics: a running guest's CPU, memory, disk and
   * NIC figures, taken now. Throws for a guest that does not run, or that an operation holds.
   */
  getDiagnostics(instanceId: string): Promise<DriverDiagnostics>;
}

export type RebootType = 'SOFT' | 'HARD';

/** What the host offers; the agent adds host name, zone and allocation ratios from its config. */
export const DriverInventorySchema = HostInventorySchema.pick({
  vcpus: true,
  memory_mb: true,
  disk_gb: true,
  hypervisor_type: true,
  hypervisor_version: true,
  virt_type: true,
});
export type DriverInventory = z.infer<typeof DriverInventorySchema>;

export interface GuestInfo {
  instance_id: string;
  power_state: PowerState;
}

/** A guest the agent's local state remembers, handed to the driver at init. */
export interface KnownGuest {
  instance_id: string;
  spec: GuestSpec;
  /** The last power state the agent recorded. */
  power_state: PowerState;
  /** Whether the agent saw spawn finish; an unfinished build may have left a partial guest. */
  built: boolean;
}

export interface SpawnedGuest {
  power_state: PowerState;
  /** Network name → addresses, as the `spawned` report carries them. */
  addresses: Record<string, { addr: string; version: 4 | 6; mac_addr: string }[]>;
}

export interface GuestSnapshot {
  disk_format: 'qcow2' | 'raw';
  container_format: 'bare';
  size_bytes: number;
  /** The image file, when the driver wrote one (a multipart upload may read parts of it); removed once open()'s stream closes. */
  path?: string;
  /** Opens the image bytes; called once, by the upload. */
  open(): Readable;
}

/** A driver was asked for something its hypervisor cannot do (Nova: NotImplementedError). */
export class NotSupportedByDriver extends Error {
  constructor(
    readonly driver: string,
    readonly operation: string,
  ) {
    super(`the ${driver} driver does not support ${operation}`);
    this.name = 'NotSupportedByDriver';
  }
}

/** Nova's InstanceNotFound, as a driver raises it. */
export class GuestNotFound extends Error {
  constructor(readonly instanceId: string) {
    super(`guest ${instanceId} not found on this host`);
    this.name = 'GuestNotFound';
  }
}

/** The guest is not in a power state that allows the operation (pausing a stopped guest). */
export class InvalidGuestState extends Error {
  constructor(
    readonly instanceId: string,
    readonly operation: string,
    readonly powerState: PowerState,
  ) {
    super(`cannot ${operation} guest ${instanceId} in power state ${powerState}`);
    this.name = 'InvalidGuestState';
  }
}

/**
 * Base for drivers: the optional operations raise NotSupportedByDriver until a driver
 * implements them, as Nova's ComputeDriver base class does.
 */
export abstract class BaseComputeDriver implements ComputeDriver {
  abstract readonly name: string;
  abstract init(known: readonly KnownGuest[]): Promise<void>;
  abstract getInventory(): Promise<DriverInventory>;
  abstract listGuests(): Promise<GuestInfo[]>;
  abstract getInfo(instanceId: string): Promise<GuestInfo>;
  abstract spawn(spec: GuestSpec): Promise<SpawnedGuest>;
  abstract destroy(instanceId: string): Promise<void>;

  async reboot(_instanceId: string, _type: RebootType): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'reboot');
  }
  async powerOff(_instanceId: string, _timeoutSec: number): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'power off');
  }
  async powerOn(_instanceId: string): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'power on');
  }
  async pause(_instanceId: string): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'pause');
  }
  async unpause(_instanceId: string): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'unpause');
  }
  async suspend(_instanceId: string): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'suspend');
  }
  async resume(_instanceId: string): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'resume');
  }
  async getConsoleOutput(_instanceId: string, _lengthLines?: number): Promise<string> {
    throw new NotSupportedByDriver(this.name, 'console output');
  }
  async snapshot(_instanceId: string, _imageId: string): Promise<GuestSnapshot> {
    throw new NotSupportedByDriver(this.name, 'snapshot');
  }
  async rebuild(_spec: GuestSpec): Promise<SpawnedGuest> {
    throw new NotSupportedByDriver(this.name, 'rebuild');
  }
  async migrateDiskAndPowerOff(_instanceId: string, _timeoutSec: number): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'cold migration and resize');
  }
  async hasMigrationCopy(_instanceId: string): Promise<boolean> {
    return false;
  }
  async finishMigration(_spec: GuestSpec, _powerOn: boolean): Promise<SpawnedGuest> {
    throw new NotSupportedByDriver(this.name, 'cold migration and resize');
  }
  async confirmMigration(_instanceId: string): Promise<void> {}
  async finishRevertMigration(_spec: GuestSpec, _powerOn: boolean): Promise<SpawnedGuest> {
    throw new NotSupportedByDriver(this.name, 'cold migration and resize');
  }
  async rescue(_instanceId: string, _rescueImage: ImageMeta): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'rescue');
  }
  async unrescue(_instanceId: string): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'unrescue');
  }
  async attachInterface(_instanceId: string, _nic: GuestNic): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'attach interface');
  }
  async detachInterface(_instanceId: string, _portId: string): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'detach interface');
  }
  async triggerCrashDump(_instanceId: string): Promise<void> {
    throw new NotSupportedByDriver(this.name, 'trigger crash dump');
  }
  async getDiagnostics(_instanceId: string): Promise<DriverDiagnostics> {
    throw new NotSupportedByDriver(this.name, 'diagnostics');
  }
}
