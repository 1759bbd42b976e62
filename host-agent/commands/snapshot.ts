import type { z } from 'zod';
import type { SnapshotUpload } from '../../shared/messages/conductor.js';
import type { SnapshotCommandSchema } from '../../shared/messages/host.js';
import type { CommandContext } from './context.js';
import { runGuestAction } from './guest-action.js';
import { qcow2VirtualSize, uploadToPresignedParts } from './snapshot-upload.js';

/**
 * Nova's snapshot_instance: the driver writes the guest's disk as a standalone image, the agent
 * uploads it to the presigned parts and reports the parts and hashes; the conductor completes
 * the upload and activates the image. A command seen twice uploads again (the parts are
 * overwritten); the conductor completes the upload once.
 */
export function handleSnapshot(command: z.infer<typeof SnapshotCommandSchema>, ctx: CommandContext): Promise<void> {
  return runGuestAction(command, ctx, {
    action: command.action ?? 'createImage',
    run: () => snapshotAndUpload(command, ctx),
  });
}

/** The driver writes the guest's disk as a standalone image; it goes to the presigned parts, and the report gets what the conductor needs. */
export async function snapshotAndUpload(
  command: Pick<z.infer<typeof SnapshotCommandSchema>, 'instance_id' | 'image_id' | 'upload'>,
  ctx: CommandContext,
): Promise<{ snapshot: SnapshotUpload }> {
  const snapshot = await ctx.driver.snapshot(command.instance_id, command.image_id);
  ctx.log.info('uploading snapshot', { image_id: command.image_id, size_bytes: snapshot.size_bytes, disk_format: snapshot.disk_format });
  const stream = snapshot.open();
  let uploaded;
  try {
    uploaded = await uploadToPresignedParts(stream, command.upload);
  } finally {
    stream.destroy();
  }
  const virtualSize = snapshot.disk_format === 'qcow2' ? qcow2VirtualSize(uploaded.head) : uploaded.size;
  return {
    snapshot: {
      parts: uploaded.parts,
      disk_format: snapshot.disk_format,
      size: uploaded.size,
      virtual_size: virtualSize,
      checksum: uploaded.checksum,
      os_hash_value: uploaded.os_hash_value,
    },
  };
}
