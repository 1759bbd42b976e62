import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { writeConfigDrive } from '../host-agent/config-drive/config-drive.js';
import { instancePaths } from '../host-agent/drivers/qemu/instance-dir.js';
import type { VirtType } from '../host-agent/drivers/qemu/kvm-detect.js';
import { createOverlay, imageInfo } from '../host-agent/drivers/qemu/qemu-img.js';
import { launchQemu, qemuArgs } from '../host-agent/drivers/qemu/qemu-process.js';
import type { GuestSpec } from '../shared/messages/host.js';
import { sleep } from './client.js';
import { killGuestQemus } from './guest-processes.js';
import { consoleHasMarker } from './test-guest.js';

/** What a guest needs to be launched without the cloud: the driver's own spec and cached image, and its virt type. */
export interface DirectGuest {
  /** A guest spec the agent wrote (spec.json); the direct launch takes it with a new uuid. */
  spec: GuestSpec;
  /** The agent's cached copy of the image, the overlay's backing file. */
  backingImage: string;
  virtType: VirtType;
}

export interface DirectBoot {
  instance_id: string;
  /** Overlay and config drive written. */
  disks_ms: number;
  /** QEMU daemonized (the guest runs; the driver's spawn returns about here). */
  launched_ms: number;
  /** Boot marker in the console file. */
  marker_ms: number | null;
}

/**
 * The QEMU driver's spawn without the cloud: the same overlay, the same config drive and the
 * same command line (qemuArgs of host-agent/drivers/qemu/qemu-process.ts), timed from the first
 * disk write to the boot marker in the console file. The guest is killed afterwards.
 */
export async function bootDirect(guest: DirectGuest, instancesDir: string, timeoutMs: number): Promise<DirectBoot> {
  const instanceId = randomUUID();
  const spec: GuestSpec = { ...guest.spec, instance_id: instanceId, name: `direct-${instanceId.slice(0, 8)}`, hostname: `direct-${instanceId.slice(0, 8)}` };
  const paths = instancePaths(instancesDir, instanceId);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  try {
    const t0 = performance.now();
    // As the driver: the flavor's disk size, or the image's own for a 0-GB flavor.
    const size = spec.flavor.disk * 1024 ** 3 || (await imageInfo(guest.backingImage, 'qcow2', { shared: true })).virtualSize;
    await createOverlay(paths.disk, guest.backingImage, size);
    await writeConfigDrive(spec, paths.configDrive);
    const disksMs = performance.now() - t0;
    await launchQemu(qemuArgs({ instanceId, paths, vcpus: spec.flavor.vcpus, memoryMb: spec.flavor.ram, virtType: guest.virtType }), paths.pidfile);
    const launchedMs = performance.now() - t0;
    let markerMs: number | null = null;
    while (performance.now() - t0 < timeoutMs) {
      if (await consoleHasMarker(paths.console)) {
        markerMs = performance.now() - t0;
        break;
      }
      await sleep(50);
    }
    return { instance_id: instanceId, disks_ms: disksMs, launched_ms: launchedMs, marker_ms: markerMs };
  } finally {
    await killGuestQemus(instanceId);
    await rm(paths.dir, { recursive: true, force: true });
  }
}
