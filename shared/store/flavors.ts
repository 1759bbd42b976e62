import { DeleteCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { DEFAULT_FLAVORS, FlavorSchema, type Flavor } from '../domain/flavor.js';
import { byType, keys } from './keys.js';
import { cancelledIndexes, conditionalWrite, getItem, isConditionFailure, listByType, queryAll, tableName } from './table.js';

const FLAVOR_TYPE = 'FLAVOR';

const toFlavor = (item: Record<string, unknown>) => FlavorSchema.parse(item);

export async function getFlavor(id: string): Promise<Flavor | undefined> {
  const item = await getItem(keys.flavor(id));
  return item ? toFlavor(item) : undefined;
}

export async function listFlavors(): Promise<Flavor[]> {
  return (await listByType(FLAVOR_TYPE)).map(toFlavor);
}

export async function hasFlavorAccess(flavorId: string, projectId: string): Promise<boolean> {
  return (await getItem(keys.flavorAccess(flavorId, projectId))) !== undefined;
}

export type CreateFlavorResult = { created: true } | { created: false; conflict: 'id' | 'name' };

/** Creates a flavor; its id and its name must both be free (the name through a guard item). */
export async function createFlavor(flavor: Flavor): Promise<CreateFlavorResult> {
  try {
    await dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName(),
              Item: { ...keys.flavor(flavor.id), type: FLAVOR_TYPE, gsi2pk: byType(FLAVOR_TYPE), gsi2sk: flavor.id, ...flavor },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: tableName(),
              Item: { ...keys.flavorName(flavor.name), type: 'FLAVOR_NAME', flavor_id: flavor.id },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    return { created: true };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return { created: false, conflict: cancelledIndexes(err).includes(0) ? 'id' : 'name' };
  }
}

/** Deletes a flavor, its name guard and its access list; false if it was already gone. */
export async function deleteFlavor(flavor: Flavor): Promise<boolean> {
  // Access rows go first: left behind, they would grant access to a later flavor with the same id.
  for (const projectId of await listFlavorAccess(flavor.id)) await removeFlavorAccess(flavor.id, projectId);
  return conditionalWrite(
    dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: tableName(), Key: keys.flavor(flavor.id), ConditionExpression: 'attribute_exists(pk)' } },
          {
            Delete: {
              TableName: tableName(),
              Key: keys.flavorName(flavor.name),
              ConditionExpression: 'attribute_not_exists(pk) OR flavor_id = :id',
              ExpressionAttributeValues: { ':id': flavor.id },
            },
          },
        ],
      }),
    ),
  );
}

/** Adds or replaces extra specs; undefined if the flavor does not exist. */
export async function setExtraSpecs(flavorId: string, specs: Record<string, string>): Promise<Flavor | undefined> {
  const entries = Object.entries(specs);
  if (entries.length === 0) return getFlavor(flavorId);
  const names: Record<string, string> = {};
  const values: Record<string, string> = {};
  const sets = entries.map(([key, value], i) => {
    names[`#k${i}`] = key;
    values[`:v${i}`] = value;
    return `extra_specs.#k${i} = :v${i}`;
  });
  try {
    const out = await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.flavor(flavorId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toFlavor(out.Attributes ?? {});
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

/** Sets a flavor's description (microversion 2.55); undefined if the flavor does not exist. */
export async function setFlavorDescription(flavorId: string, description: string | null): Promise<Flavor | undefined> {
  try {
    const out = await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.flavor(flavorId),
        UpdateExpression: 'SET description = :d',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':d': description },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toFlavor(out.Attributes ?? {});
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

/** Removes one extra spec; false if the flavor or the key does not exist. */
export function deleteExtraSpec(flavorId: string, key: string): Promise<boolean> {
  return conditionalWrite(
    dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.flavor(flavorId),
        UpdateExpression: 'REMOVE extra_specs.#k',
        ConditionExpression: 'attribute_exists(extra_specs.#k)',
        ExpressionAttributeNames: { '#k': key },
      }),
    ),
  );
}

/** Project ids with access to a private flavor. */
export async function listFlavorAccess(flavorId: string): Promise<string[]> {
  const items = await queryAll({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :access)',
    ExpressionAttributeValues: { ':pk': keys.flavor(flavorId).pk, ':access': 'ACCESS#' },
  });
  return items.map((item) => String(item.project_id));
}

export type AddAccessResult = 'added' | 'exists' | 'no-flavor' | 'public';

/** Grants a project access to a private flavor (checked in the same transaction). */
export async function addFlavorAccess(flavorId: string, projectId: string): Promise<AddAccessResult> {
  try {
    await dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: tableName(),
              Key: keys.flavor(flavorId),
              ConditionExpression: 'attribute_exists(pk) AND is_public = :false',
              ExpressionAttributeValues: { ':false': false },
            },
          },
          {
            Put: {
              TableName: tableName(),
              Item: { ...keys.flavorAccess(flavorId, projectId), type: 'FLAVOR_ACCESS', flavor_id: flavorId, project_id: projectId },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    return 'added';
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    if (cancelledIndexes(err).includes(1)) return 'exists';
    return (await getFlavor(flavorId)) ? 'public' : 'no-flavor';
  }
}

/** Revokes a project's access; false if it had none. */
export function removeFlavorAccess(flavorId: string, projectId: string): Promise<boolean> {
  return conditionalWrite(
    dynamo().send(new DeleteCommand({ TableName: tableName(), Key: keys.flavorAccess(flavorId, projectId), ConditionExpression: 'attribute_exists(pk)' })),
  );
}

/** Creates Nova's default m1.* flavors where they are missing; safe to run at every start. */
export async function seedDefaultFlavors(now = new Date().toISOString()): Promise<void> {
  for (const base of DEFAULT_FLAVORS) {
    await createFlavor({
      ...base,
      ephemeral: 0,
      swap: 0,
      rxtx_factor: 1,
      is_public: true,
      disabled: false,
      description: null,
      extra_specs: {},
      created_at: now,
    });
  }
}
