import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../../../../shared/aws.js';
import { cancelledIndexes, conditionalWrite, tableName, type Item, type Key, type TransactItem } from '../../../../shared/store/table.js';

/**
 * Items whose name is unique (projects and users per domain, roles overall). Each has a name
 * guard item (`keys.projectName`, ...) written in the same transaction, so two creates or
 * renames to the same name cannot both succeed.
 */

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
 * Sets attributes of an existing item (undefined values are removed). A changed `name` moves to
 * a new guard (`naming.guardOf`) in the same transaction, conditional on the old name still being
 * current, and becomes the item's gsi2 sort key.
 */
export async function updateNamed(
  key: Key,
  changes: Record<string, unknown> & { name?: string },
  naming: { name: string; guardOf: (name: string) => Item & Key },
): Promise<UpdateOutcome> {
  const newName = changes.name !== undefined && changes.name !== naming.name ? changes.name : undefined;
  const attributes = newName !== undefined ? { ...changes, gsi2sk: newName } : changes;
  const set: string[] = [];
  const remove: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  Object.entries(attributes).forEach(([attr, value], i) => {
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
  if (newName !== undefined) {
    names['#name'] = 'name';
    values[':oldName'] = naming.name;
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
  if (newName === undefined) return (await conditionalWrite(dynamo().send(new UpdateCommand(update)))) ? 'updated' : 'missing';
  const { pk, sk } = naming.guardOf(naming.name);
  const items: TransactItem[] = [
    { Update: update },
    { Put: { TableName: tableName(), Item: naming.guardOf(newName), ConditionExpression: 'attribute_not_exists(pk)' } },
    { Delete: { TableName: tableName(), Key: { pk, sk } } },
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
