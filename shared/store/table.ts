import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';

export type Key = { pk: string; sk: string };
export type Item = Record<string, unknown>;
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export const tableName = () => config().TABLE_NAME;

export async function getItem(key: Key, consistent = false): Promise<Item | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: consistent }));
  return out.Item;
}

/** Puts an item that must not exist yet; returns false if it did. */
/** The next number of a named sequence (1, 2, ...), for the integer ids Nova's API has. */
export async function nextNumber(sequence: string): Promise<number> {
  const out = await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { pk: `COUNTER#${sequence}`, sk: 'COUNTER' },
      UpdateExpression: 'ADD #n :one',
      ExpressionAttributeNames: { '#n': 'value' },
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(out.Attributes?.value);
}

export async function putNew(item: Item & Key): Promise<boolean> {
  return conditionalWrite(dynamo().send(new PutCommand({ TableName: tableName(), Item: item, ConditionExpression: 'attribute_not_exists(pk)' })));
}

/** Runs a Query to the end (following LastEvaluatedKey) and returns every item. */
export async function queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamo().send(new QueryCommand({ ...input, TableName: tableName(), ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every item of one type, through gsi2 (TYPE#<type>). */
export function listByType(type: string): Promise<Item[]> {
  return queryAll({
    IndexName: 'gsi2',
    KeyConditionExpression: 'gsi2pk = :t',
    ExpressionAttributeValues: { ':t': `TYPE#${type}` },
  });
}

/** Awaits a conditional write (or transaction); false if its condition failed, other errors thrown. */
export async function conditionalWrite(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

export function isConditionFailure(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || err instanceof TransactionCanceledException;
}

/** For a cancelled transaction, which of its items failed their condition. */
export function cancelledIndexes(err: unknown): number[] {
  if (!(err instanceof TransactionCanceledException)) return [];
  return (err.CancellationReasons ?? []).flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
}
