import { isIP } from 'node:net';
import { z } from 'zod';
import { ApiError, BadRequest, Conflict, NotFound } from '../../../../shared/errors.js';
import { validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { AssociateFailed, associateFloatingIp, disassociateFloatingIp, floatingIpByAddress, instanceIdOfFloatingIp } from '../network-proxy/floating-ip-api.js';
import { Microversion } from '../microversion.js';
import { loadInstance } from '../server-access.js';
import type { ServerAction } from './server-action.js';

/**
 * `addFloatingIp` / `removeFloatingIp` (floating_ips.py FloatingIPActionController): Nova's
 * deprecated floating IP actions, 2.1 to 2.43; from 2.44 there is no such action.
 */
const lastVersionWithActions = Microversion.parse('2.43');

const ipAddress = z.string().refine((a) => isIP(a) !== 0, { message: "is not a 'ip-address'" });
const AddBody = z.strictObject({ address: ipAddress, fixed_address: ipAddress.optional() });
const RemoveBody = z.strictObject({ address: ipAddress });

function checkVersion(req: ApiRequest, action: string) {
  if (!lastVersionWithActions.atLeast(req.microversion.toString())) throw new NotFound(`There is no such action: ${action}`);
}

/** The server's fixed addresses, from its network info (the addresses Nova caches for it). */
function fixedAddresses(addresses: Record<string, { addr: string; type?: string }[]>): string[] {
  return Object.values(addresses).flatMap((ips) => ips.filter((ip) => ip.type !== 'floating').map((ip) => ip.addr));
}

async function addFloatingIp(req: ApiRequest, raw: unknown): Promise<ApiResponse> {
  checkVersion(req, 'addFloatingIp');
  const body = validate(AddBody, raw);
  const instance = await loadInstance(req);
  if (Object.keys(instance.addresses ?? {}).length === 0) throw new BadRequest('Instance network is not ready yet');
  const fixed = fixedAddresses(instance.addresses ?? {});
  if (fixed.length === 0) throw new BadRequest('No fixed IPs associated to instance');
  let fixedAddress = body.fixed_address;
  if (fixedAddress !== undefined && !fixed.includes(fixedAddress)) throw new BadRequest('Specified fixed address not assigned to instance');
  fixedAddress ??= fixed.find((a) => isIP(a) === 4);
  if (!fixedAddress) {
    throw new BadRequest(
      `Unable to associate floating IP ${body.address} to any fixed IPs for instance ${instance.id}. Instance has no fixed IPv4 addresses to associate.`,
    );
  }
  try {
    await associateFloatingIp(req, instance.id, body.address, fixedAddress);
  } catch (err) {
    if (err instanceof AssociateFailed) throw new BadRequest(err.message);
    if (err instanceof ApiError && err.message.startsWith('Floating IP not found for address')) throw new NotFound('floating IP not found');
    if (err instanceof ApiError && err.status === 403) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new BadRequest(`Unable to associate floating IP ${body.address} to fixed IP ${fixedAddress} for instance ${instance.id}. Error: ${reason}`);
  }
  return { status: 202 };
}

/** The floating IP must be on this server (409 otherwise); the server is found through the address. */
async function removeFloatingIp(req: ApiRequest, raw: unknown): Promise<ApiResponse> {
  checkVersion(req, 'removeFloatingIp');
  const { address } = validate(RemoveBody, raw);
  const instanceId = await instanceIdOfFloatingIp(req, address);
  const instance = instanceId ? await loadInstance(req, instanceId) : undefined;
  const fip = await floatingIpByAddress(req, address).catch(() => {
    throw new NotFound('floating IP not found');
  });
  if (!instance || !fip.port_id || instance.id !== req.params.server_id) {
    throw new Conflict(`Floating IP ${address} is not associated with instance ${req.params.server_id}.`);
  }
  await disassociateFloatingIp(req, address);
  return { status: 202 };
}

export const floatingIpActions: ServerAction[] = [
  { name: 'addFloatingIp', handle: addFloatingIp },
  { name: 'removeFloatingIp', handle: removeFloatingIp },
];
