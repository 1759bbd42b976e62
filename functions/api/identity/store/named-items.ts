import { TransactWriteCommand, UpdateCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamo } from '../../../../shared/aws.js';
import { cancelledIndexes, tableName, type Item, type Key } from '../../../../shared/store/table.js';

/**
 * Items whose name is unique (projects and users per domain, roles overall). Each has a name
 * guard item (`keys.projectName`, ...) written in the same transaction, so two creates or
 * renames to the same name cannot both succeed.
 */
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Creates the item and its name guard; false if the name is taken. */
export async function createNamed(item: Item & Key, guard: Item & Key): Promise<boolean> {
  try {
    await dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: tableName(), Item: guard, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: tableName(), Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
        ],
      }),
    );
    return true;
  } catch (err) {
    if (cancelledIndexes(err).includes(0)) return false;
    throw err;
  }
}

/** Deletes the item and its name guard; false if the item was already gone. */
export async function deleteNamed(key: Key, guard: Key): Promise<boolean> {
  try {
    await dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: tableName(), Key: key, ConditionExpression: 'attribute_exists(pk)' } },
          { Delete: { TableName: tableName(), Key: guard } },
        ],
      }),
    );
    return true;
  } catch (err) {
    if (cancelledIndexes(err).includes(0)) return false;
    throw err;
  }
}

export type UpdateOutcome = 'updated' | 'missing' | 'name-taken';

/**
 * Sets attributes of an existing item (undefined values are removed). With `rename`, the name
 * moves to a new guard in the same transaction, conditional on the old name still being current.
 */
export async function updateNamed(
  key: Key,
  changes: Record<string, unknown>,
  rename?: { oldName: string; oldGuard: Key; newGuard: Item & Key },
): Promise<UpdateOutcome> {
  const set: string[] = [];
  const remove: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  Object.entries(changes).forEach(([attr, value], i) => {
    names[`#a${i}`] = attr;
    if (value === undefined) remove.push(`#a${i}`);
    else {
      set.push(`#a${i} = :v${i}`);
      values[`:v${i}`] = value;
    }
  });
  if (set.length === 0 && remove.length === 0) return 'updated';
  const expression = [set.length ? `SET ${set.join(', ')}` : '', remove.length ? `REMOVE ${remove.join(', ')}` : ''].join(' ').trim();
  let condition = 'attribute_exists(pk)';
  if (rename) {
    names['#name'] = 'name';
    values[':oldName'] = rename.oldName;
    condition += ' AND #name = :oldName';
  }
  const update = {
    TableName: tableName(),
    Key: key,
    UpdateExpression: expression,
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
  };
  if (!rename) {
    try {
      await dynamo().send(new UpdateCommand(update));
      return 'updated';
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return 'missing';
      throw err;
    }
  }
  const items: TransactItem[] = [
    { Update: update },
    { Put: { TableName: tableName(), Item: rename.newGuard, ConditionExpression: 'attribute_not_exists(pk)' } },
    { Delete: { TableName: tableName(), Key: rename.oldGuard } },
  ];
  try {
    await dynamo().send(new TransactWriteCommand({ TransactItems: items }));
    return 'updated';
  } catch (err) {
    const failed = cancelledIndexes(err);
    if (failed.includes(0)) return 'missing';
    if (failed.includes(1)) return 'name-taken';
    throw err;
  }
}
