import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../../shared/aws.js';
import { HostSchema, type Host, type HostInventory } from '../../shared/domain/host.js';
import type { Instance } from '../../shared/domain/instance.js';
import { TaskState, VmState } from '../../shared/domain/instance-states.js';
import { getHost, setHostStatus } from '../../shared/store/hosts.js';
import { deadlineFor } from '../../shared/store/instances.js';
import { keys } from '../../shared/store/keys.js';
import { tableName } from '../../shared/store/table.js';

/** A name no other suite (or earlier run against the same cloud) uses. */
export const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** The flavor snapshot of m1.tiny as the API copies it into an instance. */
export const M1_TINY = { id: '1', name: 'm1.tiny', vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, extra_specs: {} };

/** Room for exactly 20 m1.tiny: 8 vCPUs × 4.0 = 32, 10240 MB × 1.0 = 20 × 512, 100 GB. */
export const TWENTY_TINY = { vcpus: 8, memory_mb: 10240, disk_gb: 100 } as const;

export function hostInventory(host: string, zone: string, size: { vcpus: number; memory_mb: number; disk_gb: number } = TWENTY_TINY): HostInventory {
  return { host, availability_zone: zone, ...size, hypervisor_type: 'fake', hypervisor_version: 1000, virt_type: 'fake', host_ip: '127.0.0.1' };
}

/** An instance as `POST /servers` writes it (building, scheduling), for writing straight into the table. */
export function newInstance(projectId: string, fields: Partial<Instance> = {}): Instance {
  const id = randomUUID();
  const now = new Date().toISOString();
  const imageId = randomUUID();
  return {
    id,
    name: `test-${id.slice(0, 8)}`,
    description: null,
    tags: [],
    hostname: `test-${id.slice(0, 8)}`,
    project_id: projectId,
    user_id: 'test-user',
    image_ref: imageId,
    image_meta: { id: imageId, disk_format: 'qcow2', size: 196_616, virtual_size: 64 * 1024 * 1024, os_hash_algo: null, os_hash_value: null },
    flavor: M1_TINY,
    key_name: null,
    key_data: null,
    metadata: {},
    user_data: null,
    config_drive: false,
    availability_zone: null,
    requested_networks: 'none',
    addresses: {},
    device_tags: {},
    server_group_id: null,
    scheduler_hints: {},
    forced_host: null,
    access_ip_v4: '',
    access_ip_v6: '',
    security_groups: ['default'],
    vm_state: VmState.BUILDING,
    task_state: TaskState.SCHEDULING,
    power_state: 0,
    host: null,
    claimed_host: null,
    launch_index: 0,
    reservation_id: `r-${id.slice(0, 8)}`,
    locked: false,
    fault: null,
    attempted_hosts: [],
    task_deadline: deadlineFor(TaskState.SCHEDULING),
    version: 1,
    created_at: now,
    updated_at: now,
    launched_at: null,
    ...fields,
  };
}

export async function hostUsage(name: string) {
  const host = await getHost(name);
  if (!host) throw new Error(`host ${name} is not registered`);
  const { used_vcpus, used_memory_mb, used_disk_gb, running_vms } = host;
  return { used_vcpus, used_memory_mb, used_disk_gb, running_vms };
}

/**
 * Disables a test host when its suite is done: a request without a zone may go to any enabled
 * host that is up, and later suites must not land on a host nobody serves any more.
 */
export async function retireHost(name: string): Promise<void> {
  await setHostStatus(name, 'disabled', 'integration test finished');
}

/**
 * Moves a host's last heartbeat back, as if its agent had stopped beating at that time: the
 * conductor itself never moves a heartbeat back, so a test that needs a down host writes it.
 */
export async function backdateHeartbeat(name: string, at: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.host(name),
      UpdateExpression: 'SET last_heartbeat = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':at': at },
    }),
  );
}

/** A compute host record as the conductor stores it: an idle, enabled KVM host that last beat at 2026-06-01T11:59:40Z. */
export function hostRecord(name: string, extra: Partial<Host> = {}): Host {
  return HostSchema.parse({
    id: '7',
    host: name,
    availability_zone: 'nova',
    vcpus: 8,
    memory_mb: 16384,
    disk_gb: 200,
    cpu_allocation_ratio: 4,
    ram_allocation_ratio: 1,
    disk_allocation_ratio: 1,
    vcpus_limit: 32,
    memory_mb_limit: 16384,
    disk_gb_limit: 200,
    used_vcpus: 0,
    used_memory_mb: 0,
    used_disk_gb: 0,
    running_vms: 0,
    hypervisor_type: 'QEMU',
    hypervisor_version: 8002000,
    virt_type: 'kvm',
    host_ip: '10.0.0.7',
    status: 'enabled',
    disabled_reason: null,
    last_heartbeat: '2026-06-01T11:59:40Z',
    queue_url: 'http://sqs.test/host',
    service_id: '3',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-06-01T11:59:40Z',
    ...extra,
  });
}
