import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { KeypairSchema, type Keypair } from '../domain/keypair.js';
import { keys } from './keys.js';
import { conditionalWrite, getItem, putNew, queryAll, tableName } from './table.js';

export async function getKeypair(userId: string, name: string): Promise<Keypair | undefined> {
  const item = await getItem(keys.keypair(userId, name));
  return item ? KeypairSchema.parse(item) : undefined;
}

/** A user's key pairs, in name order. */
export async function listKeypairs(userId: string): Promise<Keypair[]> {
  const items = await queryAll({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kp)',
    ExpressionAttributeValues: { ':pk': keys.keypair(userId, '').pk, ':kp': 'KEYPAIR#' },
  });
  return items.map((item) => KeypairSchema.parse(item));
}

/** Stores a new key pair; false if the user already has one with that name. */
export function createKeypair(keypair: Keypair): Promise<boolean> {
  return putNew({ ...keys.keypair(keypair.user_id, keypair.name), ...keypair, type: 'KEYPAIR' });
}

/** False if there was no such key pair. */
export function deleteKeypair(userId: string, name: string): Promise<boolean> {
  return conditionalWrite(
    dynamo().send(new DeleteCommand({ TableName: tableName(), Key: keys.keypair(userId, name), ConditionExpression: 'attribute_exists(pk)' })),
  );
}
