import { getHost } from '../store/hosts.js';
import { sendMessage } from './send.js';
import type { Instance } from '../domain/instance.js';
import { HostCommandSchema, type HostCommand } from './host.js';

/** The spawn command for an instance: everything the agent needs, copied from the record. */
export function spawnCommandFor(i: Instance, requestId: string): Extract<HostCommand, { type: 'spawn' }> {
  return {
    type: 'spawn',
    request_id: requestId,
    guest: {
      instance_id: i.id,
      name: i.name,
      hostname: i.hostname,
      project_id: i.project_id,
      image_id: i.image_ref,
      image: i.image_meta,
      flavor: i.flavor,
      key_name: i.key_name,
      key_data: i.key_data,
      metadata: i.metadata,
      user_data: i.user_data,
      config_drive: i.config_drive,
      availability_zone: i.availability_zone,
      launch_index: i.launch_index,
    },
  };
}

/** Sends a command to a host's queue; false when the host is not registered (there is no queue to send to). */
export async function sendHostCommand(hostName: string, command: HostCommand): Promise<boolean> {
  const host = await getHost(hostName);
  if (!host) return false;
  await sendMessage(host.queue_url, HostCommandSchema, command);
  return true;
}

/** Tells a host to destroy a guest (idempotent on the agent's side). */
export async function sendDestroy(hostName: string, instanceId: string, requestId = 'req-conductor'): Promise<void> {
  const host = await getHost(hostName);
  if (!host) return;
  await sendMessage(host.queue_url, HostCommandSchema, { type: 'destroy', request_id: requestId, instance_id: instanceId });
}
