import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../../aws.js';
import type { Instance } from '../../domain/instance.js';
import type { Port } from '../../domain/network/port.js';
import { hostsAffectedByPorts, syncHostNetworks } from '../../network-plan/sync.js';
import { logger } from '../../logger.js';
import { keys } from '../keys.js';
import { conditionalWrite, tableName } from '../table.js';
import { disassociatePortFloatingIps, listPortFloatingIps } from './floating-ips.js';
import { getNetwork } from './networks.js';
import { deletePort, listDevicePorts, updatePort } from './ports.js';

/**
 * A server's addresses as Nova shows them (per network name, fixed then floating), from its
 * ports and their floating IPs: Nova's network info cache, rebuilt whenever they change.
 */
export async function addressesOfPorts(ports: Port[]): Promise<Instance['addresses']> {
  const addresses: Instance['addresses'] = {};
  for (const port of [...ports].sort((a, b) => a.created_at.localeCompare(b.created_at))) {
    const label = (await getNetwork(port.network_id))?.name || port.network_id;
    const floating = await listPortFloatingIps(port.id);
    addresses[label] = [
      ...(addresses[label] ?? []),
      ...port.fixed_ips.map((ip) => ({ addr: ip.ip_address, version: 4 as const, type: 'fixed' as const, mac_addr: port.mac_address })),
      ...floating.map((f) => ({ addr: f.floating_ip_address, version: 4 as const, type: 'floating' as const, mac_addr: port.mac_address })),
    ];
  }
  return addresses;
}

/** Rewrites a server's cached addresses from its ports (nothing if the device is not a server). */
export async function refreshDeviceAddresses(deviceId: string): Promise<void> {
  const addresses = await addressesOfPorts(await listDevicePorts(deviceId));
  await conditionalWrite(
    dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.instance(deviceId),
        UpdateExpression: 'SET addresses = :a',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':a': addresses },
      }),
    ),
  );
}

/**
 * What a deleted server leaves: the ports Nova made for it are deleted, ports the user passed in
 * are unbound and kept (as Nova does). Idempotent: a second call finds nothing left to do.
 */
export async function releaseDevicePorts(deviceId: string, requestId = `req-release-${deviceId}`): Promise<void> {
  const ports = await listDevicePorts(deviceId);
  if (ports.length === 0) return;
  // Read before they go: afterwards nothing says which hosts had them.
  const affected = await hostsAffectedByPorts(ports).catch((error: unknown) => {
    logger.error('could not tell which hosts have the ports being released', { device_id: deviceId, error: error as Error });
    return new Set<string>();
  });
  for (const port of ports) {
    await disassociatePortFloatingIps(port.id);
    if (port.delete_with_device) await deletePort(port);
    else await updatePort(port, { device_id: '', device_owner: '', binding_host_id: '', status: 'DOWN' });
  }
  // The hosts drop the ports (and their peers' entries); a failure here is repaired by the next sync.
  await syncHostNetworks(affected, requestId).catch((error: unknown) =>
    logger.error('could not push network plans after releasing ports', { device_id: deviceId, error: error as Error }),
  );
}
