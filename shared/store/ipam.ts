import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { dynamo } from '../aws.js';
import { tableName } from './table.js';

/**
 * Fixed IPv4 addresses on the cloud's one shared network: a counter item handed out with an
 * atomic ADD, so parallel creates never get the same address. Addresses are not reused after
 * a delete: the /16 wraps after 65,000 allocations (noted in the README).
 */
export async function allocateAddresses(networkId: string, cidr: string, count: number): Promise<{ addr: string; mac_addr: string }[]> {
  const out = await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { pk: `NETWORK#${networkId}`, sk: 'IPAM' },
      UpdateExpression: 'ADD next_host :n',
      ExpressionAttributeValues: { ':n': count },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  const last = Number(out.Attributes!.next_host);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits)) - 3; // minus network, gateway (.1) and broadcast
  const baseInt = base.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  return Array.from({ length: count }, (_, k) => {
    const offset = ((last - count + k) % size) + 2;
    const ip = baseInt + offset;
    return { addr: [24, 16, 8, 0].map((s) => (ip >>> s) & 255).join('.'), mac_addr: randomMac() };
  });
}

/** A locally administered unicast MAC with OpenStack's usual fa:16:3e prefix. */
function randomMac(): string {
  return ['fa', '16', '3e', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
