import { z } from 'zod';
import { InstanceActionName, TaskState } from '../../../../shared/domain/instance-states.js';
import { json, validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { ServerName } from '../server-create.js';
import { snapshotServer } from './create-image.js';
import type { ServerAction } from './server-action.js';

/** Nova's parameter_types.non_negative_integer: an integer, or a string of digits. */
const NonNegativeInteger = z.union([z.number().int().nonnegative(), z.string().regex(/^[0-9]+$/).transform(Number)]);

const CreateBackupSchema = z.strictObject({
  name: ServerName,
  backup_type: z.string(),
  rotation: NonNegativeInteger,
  metadata: z.record(z.string().min(1).max(255), z.string().max(255)).optional(),
});

/**
 * `createBackup`: a snapshot whose image is a backup of `backup_type` (`image_type: backup`); once
 * it is active, the instance's older backups of that type beyond `rotation` are deleted (Nova's
 * _rotate_backups). 202 with the image's URL in `Location` when rotation > 0 (below 2.45), or its id.
 */
async function createBackup(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  const { name, backup_type: type, rotation, metadata = {} } = validate(CreateBackupSchema, body);
  const imageId = await snapshotServer(req, name, metadata, {
    action: InstanceActionName.CREATE_BACKUP,
    taskState: TaskState.IMAGE_BACKUP,
    properties: { image_type: 'backup', backup_type: type },
    backup: { type, rotation },
  });
  if (req.microversion.atLeast('2.45')) return json(202, { image_id: imageId });
  return { status: 202, headers: rotation > 0 ? { Location: `${req.baseUrl}/image/v2/images/${imageId}` } : {} };
}

export const createBackupActions: ServerAction[] = [{ name: 'createBackup', handle: createBackup }];
