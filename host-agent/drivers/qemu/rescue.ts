import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageMeta } from '../../../shared/domain/instance.js';
import type { ImageCache } from '../../image-cache/image-cache.js';
import type { InstancePaths } from './instance-dir.js';
import { createOverlay } from './qemu-img.js';

/**
 * Nova's libvirt rescue, on QEMU: the rescue guest is the same guest (same uuid, QMP, console,
 * NICs, config drive) started from `disk.rescue.qcow2`, an overlay on the cached rescue image,
 * with its own root disk attached second (qemu-process.ts diskArgs). The rescue disk's presence
 * is the rescue: unrescue removes it and starts the guest from its root disk again, which the
 * rescue never replaced (only what the rescue guest wrote to it is changed).
 */
export const rescueDiskOf = (paths: InstancePaths) => join(paths.dir, 'disk.rescue.qcow2');

/** A fresh rescue disk on the rescue image (downloaded into the cache if need be), the image's own size. */
export async function prepareRescueDisk(images: ImageCache, rescueImage: ImageMeta, paths: InstancePaths): Promise<string> {
  const image = await images.ensure(rescueImage);
  const disk = rescueDiskOf(paths);
  await rm(disk, { force: true });
  await createOverlay(disk, image.path, image.virtual_size);
  return disk;
}

export async function removeRescueDisk(paths: InstancePaths): Promise<void> {
  await rm(rescueDiskOf(paths), { force: true });
}

/** Whether the guest is in rescue: its rescue disk is there. */
export async function inRescue(paths: InstancePaths): Promise<boolean> {
  return stat(rescueDiskOf(paths)).then(
    () => true,
    () => false,
  );
}
