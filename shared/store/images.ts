import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { ImageSchema, type Image } from '../domain/image.js';
import { functionSettings } from '../resources.js';
import { byType, keys } from './keys.js';
import { conditionalWrite, getItem, isConditionFailure, listByType, putNew, tableName } from './table.js';

const IMAGE_TYPE = 'IMAGE';

const itemOf = (image: Image) => ({
  ...keys.image(image.id),
  type: IMAGE_TYPE,
  gsi2pk: byType(IMAGE_TYPE),
  gsi2sk: `${image.created_at}#${image.id}`,
  ...image,
});

export async function getImage(id: string, consistent = false): Promise<Image | undefined> {
  const item = await getItem(keys.image(id), consistent);
  return item ? ImageSchema.parse(item) : undefined;
}

/** Every image, newest first. A cloud holds hundreds of images, not millions: filtering happens in memory. */
export async function listImages(): Promise<Image[]> {
  const items = await listByType(IMAGE_TYPE);
  return items.map((item) => ImageSchema.parse(item)).reverse();
}

/** Stores a new image; false if one with its id exists. */
export function createImage(image: Image): Promise<boolean> {
  return putNew(itemOf(image));
}

/** Replaces the image if nobody wrote it since `image.version - 1` was read; false if somebody did (or it is gone). */
export function replaceImage(image: Image): Promise<boolean> {
  return conditionalWrite(
    dynamo().send(
      new PutCommand({
        TableName: tableName(),
        Item: itemOf(image),
        ConditionExpression: 'attribute_exists(pk) AND version = :expected',
        ExpressionAttributeValues: { ':expected': image.version - 1 },
      }),
    ),
  );
}

/** Deletes the image unless it is protected (or already gone); false when the condition failed. */
export function deleteUnprotectedImage(id: string): Promise<boolean> {
  return conditionalWrite(
    dynamo().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: keys.image(id),
        ConditionExpression: 'attribute_exists(pk) AND #protected = :false',
        ExpressionAttributeNames: { '#protected': 'protected' },
        ExpressionAttributeValues: { ':false': false },
      }),
    ),
  );
}

/**
 * How long a `saving` image may go untouched before its claim counts as abandoned: twice the
 * longest an upload can run (the image-data function's timeout). Uploads through the API itself
 * take seconds, but must not take over an image whose large upload is still being received.
 */
const STALE_SAVING_MS = 2 * functionSettings['image-data'].timeoutSeconds * 1000;

/**
 * queued → saving, the claim on an image's data upload. A `saving` image untouched for
 * STALE_SAVING_MS counts as queued. An upload with an id (data that arrived through the public
 * front) records it, and finds its own claim again when it is retried.
 * Returns the image as claimed, or undefined if it was not in a state to claim.
 */
export async function claimUpload(image: Image, now: Date, uploadId?: string): Promise<Image | undefined> {
  try {
    const out = await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.image(image.id),
        UpdateExpression: `SET #status = :saving, updated_at = :now, version = version + :one${uploadId ? ', upload_id = :upload' : ' REMOVE upload_id'}`,
        ConditionExpression:
          'attribute_exists(pk) AND (#status = :queued OR (#status = :saving AND (updated_at < :stale OR upload_id = :upload)))',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':saving': 'saving',
          ':queued': 'queued',
          ':now': now.toISOString(),
          ':stale': new Date(now.getTime() - STALE_SAVING_MS).toISOString(),
          ':one': 1,
          // Without an id, a value no upload has: only staleness frees a `saving` image then.
          ':upload': uploadId ?? '-',
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return ImageSchema.parse(out.Attributes);
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

export type UploadedData = Pick<Image, 'size' | 'virtual_size' | 'checksum' | 'os_hash_algo' | 'os_hash_value'>;

/** saving → active with the data's size and hashes, if the image is still the one this upload claimed. */
export async function completeUpload(claimed: Image, data: UploadedData, now: string): Promise<Image | undefined> {
  try {
    const out = await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.image(claimed.id),
        UpdateExpression:
          'SET #status = :active, #size = :size, virtual_size = :vsize, checksum = :checksum, ' +
          'os_hash_algo = :algo, os_hash_value = :hash, updated_at = :now, version = version + :one REMOVE upload_id',
        ConditionExpression: 'attribute_exists(pk) AND #status = :saving AND version = :claimed',
        ExpressionAttributeNames: { '#status': 'status', '#size': 'size' },
        ExpressionAttributeValues: {
          ':active': 'active',
          ':saving': 'saving',
          ':claimed': claimed.version,
          ':size': data.size,
          ':vsize': data.virtual_size,
          ':checksum': data.checksum,
          ':algo': data.os_hash_algo,
          ':hash': data.os_hash_value,
          ':now': now,
          ':one': 1,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return ImageSchema.parse(out.Attributes);
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

/** saving → queued after a failed upload, if nothing else touched the image meanwhile. */
export async function releaseUpload(claimed: Image, now: string): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.image(claimed.id),
        UpdateExpression: 'SET #status = :queued, updated_at = :now, version = version + :one REMOVE upload_id',
        ConditionExpression: 'attribute_exists(pk) AND #status = :saving AND version = :claimed',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':queued': 'queued', ':saving': 'saving', ':claimed': claimed.version, ':now': now, ':one': 1 },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}
