import { aggregateZoneOf, AggregateSchema, type Aggregate } from '../domain/aggregate.js';
import { byType, keys } from './keys.js';
import { getItem, isConditionFailure, listByType, nextNumber, tableName, type TransactItem } from './table.js';
import { writeTransaction } from './instances.js';

/**
 * Host aggregates: one item each, a guard item per name (names are unique), and a counter for
 * Nova's integer ids. A change to an aggregate's hosts or zone writes, in the same transaction,
 * the `aggregate_zone` of every host it touches (shared/domain/host.ts zoneOf), so the scheduler
 * and the zone lists read a host's zone from the host alone.
 */
const aggregateKey = (id: number) => ({ pk: `AGGREGATE#${id}`, sk: 'AGGREGATE' });
const nameKey = (name: string) => ({ pk: `AGGREGATENAME#${name}`, sk: 'NAME' });

export class AggregateNameTaken extends Error {}
export class AggregateChanged extends Error {}

export async function getAggregate(id: number): Promise<Aggregate | undefined> {
  const item = await getItem(aggregateKey(id), true);
  return item ? AggregateSchema.parse(item) : undefined;
}

/** A transaction item that holds only while the aggregate is still at the version read (a claim that used its metadata). */
export function aggregateUnchanged(a: Aggregate): TransactItem {
  return { ConditionCheck: { TableName: tableName(), Key: aggregateKey(a.id), ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': a.version } } };
}

export async function listAggregates(): Promise<Aggregate[]> {
  return (await listByType('AGGREGATE')).map((item) => AggregateSchema.parse(item)).sort((a, b) => a.id - b.id);
}

const itemOf = (a: Aggregate) => ({ ...aggregateKey(a.id), type: 'aggregate', gsi2pk: byType('AGGREGATE'), gsi2sk: String(a.id).padStart(10, '0'), ...a });

export async function createAggregate(fields: Omit<Aggregate, 'id' | 'version'>): Promise<Aggregate> {
  const aggregate: Aggregate = { ...fields, id: await nextNumber('AGGREGATE'), version: 1 };
  try {
    await writeTransaction([
      { Put: { TableName: tableName(), Item: { ...nameKey(aggregate.name), type: 'aggregate_name', aggregate_id: aggregate.id }, ConditionExpression: 'attribute_not_exists(pk)' } },
      { Put: { TableName: tableName(), Item: itemOf(aggregate), ConditionExpression: 'attribute_not_exists(pk)' } },
    ]);
  } catch (err) {
    if (isConditionFailure(err)) throw new AggregateNameTaken(aggregate.name);
    throw err;
  }
  return aggregate;
}

/**
 * Writes a changed aggregate (conditional on the version read), its name guard if the name
 * changed, and the zone of every host whose zone it decides, given all aggregates as they are
 * after the change.
 */
export async function saveAggregate(before: Aggregate, after: Aggregate, all: Aggregate[]): Promise<Aggregate> {
  const saved = { ...after, version: before.version + 1, updated_at: new Date().toISOString() };
  const items: TransactItem[] = [{ Put: { TableName: tableName(), Item: itemOf(saved), ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': before.version } } }];
  if (before.name !== after.name) {
    items.push(
      { Put: { TableName: tableName(), Item: { ...nameKey(after.name), type: 'aggregate_name', aggregate_id: after.id }, ConditionExpression: 'attribute_not_exists(pk)' } },
      { Delete: { TableName: tableName(), Key: nameKey(before.name) } },
    );
  }
  const others = all.filter((a) => a.id !== after.id);
  for (const host of new Set([...before.hosts, ...after.hosts])) {
    items.push({
      Update: {
        TableName: tableName(),
        Key: keys.host(host),
        UpdateExpression: 'SET aggregate_zone = :z',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':z': aggregateZoneOf([...others, saved], host) },
      },
    });
  }
  try {
    await writeTransaction(items);
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    if (before.name !== after.name && (await getItem(nameKey(after.name), true))) throw new AggregateNameTaken(after.name);
    throw new AggregateChanged();
  }
  return saved;
}

/** Deletes an empty aggregate and its name guard; false if it changed or gained hosts meanwhile. */
export async function deleteAggregate(a: Aggregate): Promise<boolean> {
  try {
    await writeTransaction([
      { Delete: { TableName: tableName(), Key: aggregateKey(a.id), ConditionExpression: 'version = :v AND size(hosts) = :zero', ExpressionAttributeValues: { ':v': a.version, ':zero': 0 } } },
      { Delete: { TableName: tableName(), Key: nameKey(a.name) } },
    ]);
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}
