import { MigrationSchema, type Migration, type MigrationStatus } from '../domain/migration.js';
import { byType, keys, UNCONFIRMED_MIGRATIONS } from './keys.js';
import { getItem, listByType, nextNumber, queryAll, tableName, type TransactItem } from './table.js';

/** Nova's next integer migration id. */
export const nextMigrationId = () => nextNumber('MIGRATION');

/** A finished migration waits for a confirm or revert: it sits in the sparse index the sweeper's auto-confirm reads. */
const unconfirmedIndex = (m: Pick<Migration, 'uuid' | 'updated_at'>) => ({ gsi1pk: UNCONFIRMED_MIGRATIONS, gsi1sk: `${m.updated_at}#${m.uuid}` });

function toItem(m: Migration): Record<string, unknown> {
  return {
    ...keys.migration(m.uuid),
    type: 'migration',
    ...m,
    gsi2pk: byType('MIGRATION'),
    gsi2sk: `${m.created_at}#${String(m.id).padStart(12, '0')}`,
    ...(m.status === 'finished' ? unconfirmedIndex(m) : {}),
  };
}

/** The put of a new migration, for the transaction that starts the move. */
export function migrationPut(m: Migration): TransactItem {
  return { Put: { TableName: tableName(), Item: toItem(m), ConditionExpression: 'attribute_not_exists(pk)' } };
}

export type MigrationChanges = Partial<Pick<Migration, 'status' | 'dest_compute' | 'dest_node' | 'dest_host' | 'error'>>;

/** A change of a migration, conditional on its status being one of `from` (each step happens once). */
export function migrationUpdate(uuid: string, from: readonly MigrationStatus[], changes: MigrationChanges, now = new Date().toISOString()): TransactItem {
  const next: Record<string, unknown> = { ...changes, updated_at: now };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets = Object.entries(next).map(([k, v]) => {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    return `#${k} = :${k}`;
  });
  let update = `SET ${sets.join(', ')}`;
  if (changes.status === 'finished') {
    const index = unconfirmedIndex({ uuid, updated_at: now });
    update += ', gsi1pk = :gsi1pk, gsi1sk = :gsi1sk';
    values[':gsi1pk'] = index.gsi1pk;
    values[':gsi1sk'] = index.gsi1sk;
  } else if (changes.status) {
    update += ' REMOVE gsi1pk, gsi1sk';
  }
  const fromNames = from.map((_, i) => `:from${i}`);
  from.forEach((s, i) => (values[`:from${i}`] = s));
  return {
    Update: {
      TableName: tableName(),
      Key: keys.migration(uuid),
      UpdateExpression: update,
      ConditionExpression: `#status IN (${fromNames.join(', ')})`,
      ExpressionAttributeNames: { ...names, '#status': 'status' },
      ExpressionAttributeValues: values,
    },
  };
}

export async function getMigration(uuid: string): Promise<Migration | undefined> {
  const item = await getItem(keys.migration(uuid), true);
  return item ? MigrationSchema.parse(item) : undefined;
}

/** Every migration, oldest first. */
export async function listMigrations(): Promise<Migration[]> {
  return (await listByType('MIGRATION')).map((item) => MigrationSchema.parse(item));
}

/** Finished migrations (VERIFY_RESIZE) that have waited since before `cutoff` (Nova's _poll_unconfirmed_resizes). */
export async function listUnconfirmedBefore(cutoff: string): Promise<Migration[]> {
  const items = await queryAll({
    IndexName: 'gsi1',
    KeyConditionExpression: 'gsi1pk = :p AND gsi1sk < :cutoff',
    ExpressionAttributeValues: { ':p': UNCONFIRMED_MIGRATIONS, ':cutoff': cutoff },
  });
  return items.map((item) => MigrationSchema.parse(item)).filter((m) => m.status === 'finished');
}
