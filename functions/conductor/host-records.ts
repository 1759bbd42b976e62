import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, queues } from '../../shared/aws.js';
import { DEFAULT_ALLOCATION_RATIOS, type HostInventory } from '../../shared/domain/host.js';
import { hostQueue, hostQueueName } from '../../shared/resources.js';
import { byType, keys } from '../../shared/store/keys.js';
import { getHost } from '../../shared/store/hosts.js';
import { conditionalWrite, isConditionFailure, nextNumber, tableName } from '../../shared/store/table.js';

/**
 * The conductor is the only writer of compute host records (as nova-conductor is for compute
 * nodes): registration, inventory and heartbeats. Usage is written by claims and releases.
 */
export async function registerHost(inv: HostInventory, at: string): Promise<void> {
  const queueUrl = await ensureHostQueue(inv.host);
  const ratios = {
    cpu_allocation_ratio: inv.cpu_allocation_ratio ?? DEFAULT_ALLOCATION_RATIOS.cpu,
    ram_allocation_ratio: inv.ram_allocation_ratio ?? DEFAULT_ALLOCATION_RATIOS.ram,
    disk_allocation_ratio: inv.disk_allocation_ratio ?? DEFAULT_ALLOCATION_RATIOS.disk,
  };
  const inventory = {
    availability_zone: inv.availability_zone,
    vcpus: inv.vcpus,
    memory_mb: inv.memory_mb,
    disk_gb: inv.disk_gb,
    ...ratios,
    vcpus_limit: Math.floor(inv.vcpus * ratios.cpu_allocation_ratio),
    memory_mb_limit: Math.floor(inv.memory_mb * ratios.ram_allocation_ratio),
    disk_gb_limit: Math.floor(inv.disk_gb * ratios.disk_allocation_ratio),
    hypervisor_type: inv.hypervisor_type,
    hypervisor_version: inv.hypervisor_version,
    virt_type: inv.virt_type,
    architecture: inv.architecture ?? 'x86_64',
    host_ip: inv.host_ip,
    tunnel_ip: inv.tunnel_ip ?? inv.host_ip,
    // null, not absent: a host that stops offering consoles loses the address it had.
    console_url: inv.console_url ?? null,
    queue_url: queueUrl,
  };
  const existing = await getHost(inv.host);
  if (!existing) {
    try {
      await dynamo().send(
        new PutCommand({
          TableName: tableName(),
          ConditionExpression: 'attribute_not_exists(pk)',
          Item: {
            ...keys.host(inv.host),
            type: 'host',
            gsi2pk: byType('HOST'),
            gsi2sk: inv.host,
            // Integers, as Nova's ids of compute nodes and services are below microversion 2.53.
            id: String(await nextNumber('COMPUTE_NODE')),
            service_id: String(await nextNumber('SERVICE')),
            host: inv.host,
            ...inventory,
            used_vcpus: 0,
            used_memory_mb: 0,
            used_disk_gb: 0,
            running_vms: 0,
            status: 'enabled',
            disabled_reason: null,
            forced_down: false,
            last_heartbeat: at,
            registered_at: at,
            created_at: at,
            updated_at: at,
          },
        }),
      );
      return;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Registered in parallel by a repeated message: fall through to the update.
    }
  }
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':at': at };
  const sets = Object.entries({ ...inventory, registered_at: at, updated_at: at }).map(([k, v]) => {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    return `#${k} = :${k}`;
  });
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.host(inv.host),
        UpdateExpression: `SET ${sets.join(', ')}, last_heartbeat = if_not_exists(last_heartbeat, :at)`,
        // A registration redelivered after a newer one must not roll the inventory back.
        ConditionExpression: 'attribute_not_exists(registered_at) OR registered_at <= :at',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) return;
    throw err;
  }
  await recordHeartbeat(inv.host, at);
}

/** Moves the host's heartbeat (and the uptime it reported) forward; an older (reordered or repeated) heartbeat changes nothing. */
export function recordHeartbeat(host: string, at: string, uptime?: string): Promise<boolean> {
  return conditionalWrite(
    dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.host(host),
        UpdateExpression: uptime === undefined ? 'SET last_heartbeat = :at' : 'SET last_heartbeat = :at, uptime = :uptime',
        ConditionExpression: 'attribute_exists(pk) AND last_heartbeat < :at',
        ExpressionAttributeValues: { ':at': at, ...(uptime !== undefined && { ':uptime': uptime }) },
      }),
    ),
  );
}

/** Creates (or finds) the host's own command queue, with the shared host dead-letter queue. */
async function ensureHostQueue(host: string): Promise<string> {
  const dlqUrl = (await queues().send(new GetQueueUrlCommand({ QueueName: hostQueue.deadLetterName }))).QueueUrl!;
  const dlqArn = (await queues().send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const out = await queues().send(
    new CreateQueueCommand({
      QueueName: hostQueueName(host),
      Attributes: {
        VisibilityTimeout: String(hostQueue.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: hostQueue.maxReceiveCount }),
      },
    }),
  );
  return out.QueueUrl!;
}
