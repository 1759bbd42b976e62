import type { z } from 'zod';
import { byType } from '../keys.js';
import { getItem, listByType, queryAll, tableName, type TransactItem } from '../table.js';

/**
 * Table access shared by every network-service resource. Each is one item:
 *
 * | item                | pk                       | sk          | gsi1 (pk / sk)                         | gsi2 (pk / sk)              | gsi3 (pk / sk)            |
 * |---------------------|--------------------------|-------------|----------------------------------------|-----------------------------|---------------------------|
 * | network             | NETWORK#<id>             | NETWORK     |                                        | TYPE#NETWORK / <created>#<id> |                         |
 * | subnet              | SUBNET#<id>              | SUBNET      | NETWORK#<net>#SUBNETS / <created>#<id> | TYPE#SUBNET / …             |                           |
 * | port                | PORT#<id>                | PORT        | NETWORK#<net>#PORTS / <created>#<id>   | TYPE#PORT / …               | DEVICE#<device id> / <id> (while bound to a device) |
 * | security group      | SECGROUP#<id>            | SECGROUP    | PROJECT#<pid>#SECGROUPS / <name>#<id>  | TYPE#SECGROUP / …           |                           |
 * | security group rule | SECGROUPRULE#<id>        | SECGROUPRULE | SECGROUP#<sg>#RULES / <created>#<id>  | TYPE#SECGROUPRULE / …       |                           |
 * | router              | ROUTER#<id>              | ROUTER      |                                        | TYPE#ROUTER / …             |                           |
 * | floating IP         | FLOATINGIP#<id>          | FLOATINGIP  | NETWORK#<net>#FLOATINGIPS / …          | TYPE#FLOATINGIP / …         | PORT#<port> / <id> (while associated) |
 * | IP in use           | IP#<subnet>#<address>    | IP          | SUBNET#<subnet>#IPS / <address>        |                             |                           |
 * | MAC in use          | MAC#<network>#<mac>      | MAC         |                                        |                             |                           |
 * | VNI in use          | VNI#<vni>                | VNI         |                                        |                             |                           |
 * | quota usage         | PROJECT#<pid>            | NETWORK_QUOTA_USAGE |                                |                             |                           |
 *
 * Every write is conditional: creates on the key not existing, updates and deletes on the
 * `revision_number` read, IP/MAC/VNI items on not existing (taken) or naming their holder (released).
 */
export type NetworkResourceType = 'NETWORK' | 'SUBNET' | 'PORT' | 'SECGROUP' | 'SECGROUPRULE' | 'ROUTER' | 'FLOATINGIP';

export const resourceKey = (type: NetworkResourceType, id: string) => ({ pk: `${type}#${id}`, sk: type });

export interface Indexes {
  gsi1pk?: string;
  gsi1sk?: string;
  gsi3pk?: string;
  gsi3sk?: string;
}

interface Resource {
  id: string;
  created_at: string;
  revision_number: number;
}

export async function getResource<S extends z.ZodType>(type: NetworkResourceType, id: string, schema: S): Promise<z.infer<S> | undefined> {
  const item = await getItem(resourceKey(type, id), true);
  return item ? schema.parse(item) : undefined;
}

export async function listResources<S extends z.ZodType>(type: NetworkResourceType, schema: S): Promise<z.infer<S>[]> {
  return (await listByType(type)).map((item) => schema.parse(item));
}

/** Items under one gsi1 partition (a network's subnets or ports, a group's rules, ...). */
export async function listChildren<S extends z.ZodType>(gsi1pk: string, schema: S): Promise<z.infer<S>[]> {
  const items = await queryAll({ IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': gsi1pk } });
  return items.map((item) => schema.parse(item));
}

/** Items under one gsi3 partition (the ports of a device, the floating IPs of a port). */
export async function listByGsi3<S extends z.ZodType>(gsi3pk: string, schema: S): Promise<z.infer<S>[]> {
  const items = await queryAll({ IndexName: 'gsi3', KeyConditionExpression: 'gsi3pk = :p', ExpressionAttributeValues: { ':p': gsi3pk } });
  return items.map((item) => schema.parse(item));
}

/** The put of a new resource, failing if its id is taken. */
export function putResource(type: NetworkResourceType, resource: Resource, indexes: Indexes = {}): TransactItem {
  return {
    Put: {
      TableName: tableName(),
      Item: {
        ...resourceKey(type, resource.id),
        type: type.toLowerCase(),
        ...resource,
        gsi2pk: byType(type),
        gsi2sk: `${resource.created_at}#${resource.id}`,
        ...indexes,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/**
 * The update of a resource from the revision read: sets the changed fields (and indexes), bumps
 * the revision. `remove` drops index attributes (a port leaving its device leaves gsi3).
 */
export function updateResource(
  type: NetworkResourceType,
  current: Resource,
  changes: Record<string, unknown>,
  { indexes = {}, remove = [] }: { indexes?: Indexes; remove?: (keyof Indexes)[] } = {},
): TransactItem {
  const sets = { ...changes, ...indexes, revision_number: current.revision_number + 1, updated_at: new Date().toISOString() };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':expected': current.revision_number };
  const assignments = Object.entries(sets).map(([k, v], n) => {
    names[`#a${n}`] = k;
    values[`:a${n}`] = v;
    return `#a${n} = :a${n}`;
  });
  return {
    Update: {
      TableName: tableName(),
      Key: resourceKey(type, current.id),
      UpdateExpression: `SET ${assignments.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: 'revision_number = :expected',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

/** The delete of a resource at the revision read. */
export function deleteResource(type: NetworkResourceType, current: Resource): TransactItem {
  return {
    Delete: {
      TableName: tableName(),
      Key: resourceKey(type, current.id),
      ConditionExpression: 'revision_number = :expected',
      ExpressionAttributeValues: { ':expected': current.revision_number },
    },
  };
}

/** A guard item that exists while something holds it (an IP, a MAC, a VNI): taken only if free. */
export function takeGuard(key: { pk: string; sk: string }, holder: string, indexes: Indexes = {}): TransactItem {
  return {
    Put: {
      TableName: tableName(),
      Item: { ...key, type: key.sk.toLowerCase(), holder, ...indexes },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** Frees a guard item, only if the expected holder still has it: released exactly once. */
export function releaseGuard(key: { pk: string; sk: string }, holder: string): TransactItem {
  return {
    Delete: {
      TableName: tableName(),
      Key: key,
      ConditionExpression: 'holder = :h',
      ExpressionAttributeValues: { ':h': holder },
    },
  };
}

export const guardKeys = {
  ip: (subnetId: string, address: string) => ({ pk: `IP#${subnetId}#${address}`, sk: 'IP' }),
  mac: (networkId: string, mac: string) => ({ pk: `MAC#${networkId}#${mac}`, sk: 'MAC' }),
  vni: (vni: number) => ({ pk: `VNI#${vni}`, sk: 'VNI' }),
};

export const parents = {
  networkSubnets: (networkId: string) => `NETWORK#${networkId}#SUBNETS`,
  networkPorts: (networkId: string) => `NETWORK#${networkId}#PORTS`,
  networkFloatingIps: (networkId: string) => `NETWORK#${networkId}#FLOATINGIPS`,
  subnetIps: (subnetId: string) => `SUBNET#${subnetId}#IPS`,
  projectSecurityGroups: (projectId: string) => `PROJECT#${projectId}#SECGROUPS`,
  securityGroupRules: (groupId: string) => `SECGROUP#${groupId}#RULES`,
  devicePorts: (deviceId: string) => `DEVICE#${deviceId}`,
  portFloatingIps: (portId: string) => `PORT#${portId}`,
};
