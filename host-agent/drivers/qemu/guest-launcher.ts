import type { Logger } from '@aws-lambda-powertools/logger';
import { rm } from 'node:fs/promises';
import type { GuestSpec } from '../../../shared/messages/host.js';
import { writeConfigDrive } from '../../config-drive/config-drive.js';
import type { ImageCache } from '../../image-cache/image-cache.js';
import type { CommandRunner } from '../../network/command-runner.js';
import { ensureGuestTaps } from './guest-taps.js';
import type { InstancePaths } from './instance-dir.js';
import type { VirtType } from './kvm-detect.js';
import { createOverlay } from './qemu-img.js';
import { launchQemu, qemuArgs } from './qemu-process.js';

const BYTES_PER_GIB = 1024 ** 3;

export interface GuestLauncherOptions {
  images: ImageCache;
  virtType: VirtType;
  /** The network namespace the guests' QEMUs run in, where their taps are; absent = the agent's own. */
  netns?: string;
  /** False where the data plane cannot run (not root): guests then start without their NICs. */
  networking: boolean;
  /** How tap devices are read and made (`ip`, `sysctl`). */
  runner: CommandRunner;
  log: Logger;
}

/**
 * What a guest is made of and how its QEMU starts: its disks from the spec, then its QEMU, from
 * the spec kept in the instance dir. Every start (spawn, power on, reboot, rebuild, resume)
 * goes through `launch`, so each gets the same disks and NICs.
 */
export class GuestLauncher {
  constructor(private readonly options: GuestLauncherOptions) {}

  /** The cached image, the root disk overlay on it (the flavor's size, or the image's), the config drive. */
  async prepareDisks(spec: GuestSpec, paths: InstancePaths): Promise<void> {
    const image = await this.options.images.ensure(spec.image);
    const flavorBytes = spec.flavor.disk * BYTES_PER_GIB;
    if (flavorBytes > 0 && flavorBytes < image.virtual_size) {
      throw new Error(`flavor's disk is too small for the requested image: flavor ${spec.flavor.disk} GiB, image ${(image.virtual_size / BYTES_PER_GIB).toFixed(2)} GiB`);
    }
    await rm(paths.disk, { force: true });
    await createOverlay(paths.disk, image.path, flavorBytes || image.virtual_size);
    // Always attached, as Nova with force_config_drive=True: the guests have no metadata service.
    await writeConfigDrive(spec, paths.configDrive);
  }

  /** Starts the guest's QEMU (booting, or `incoming` from its saved state, or its rescue disk) once its taps are there; resolves with its pid. */
  async launch(spec: GuestSpec, paths: InstancePaths, incoming = false, rescueDisk?: string): Promise<number> {
    await rm(paths.qmp, { force: true });
    await rm(paths.vnc, { force: true });
    const { runner, netns, log } = this.options;
    await ensureGuestTaps(this.nicsOf(spec), { runner, netns, log });
    return launchQemu(this.argsOf(spec, paths, incoming, rescueDisk), paths.pidfile, netns);
  }

  argsOf(spec: GuestSpec, paths: InstancePaths, incoming = false, rescueDisk?: string): string[] {
    return qemuArgs({ instanceId: spec.instance_id, paths, vcpus: spec.flavor.vcpus, memoryMb: spec.flavor.ram, virtType: this.options.virtType, incoming, nics: this.nicsOf(spec), rescueDisk });
  }

  private nicsOf(spec: GuestSpec): GuestSpec['nics'] {
    return this.options.networking ? spec.nics : [];
  }
}
