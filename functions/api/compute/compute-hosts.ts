import { createHash } from 'node:crypto';
import { isHostUp, type Host } from '../../../shared/domain/host.js';
import { config } from '../../../shared/config.js';

/** Every registered host runs exactly one compute service, as a nova-compute host does. */
export const COMPUTE_BINARY = 'nova-compute';

/** `up` while the host's heartbeats are younger than service_down_time (and it is not forced down). */
export const hostState = (host: Host, now = Date.now()): 'up' | 'down' =>
  isHostUp(host, config().SERVICE_DOWN_TIME, now) ? 'up' : 'down';

/**
 * Service and hypervisor ids before 2.53 are integers in Nova; a numeric id is shown as a
 * number, anything else as it is stored.
 */
export const legacyId = (id: string): string | number => (/^[1-9][0-9]{0,14}$/.test(id) ? Number(id) : id);

/**
 * The UUIDs services and hypervisors are known by from 2.53 (Nova's service and compute node
 * uuids). Derived, not stored: a name-based (version 5 style) UUID of the record's kind, host and
 * integer id, so it is the same on every call and a host that registers again after its service
 * was deleted (and gets new ids) gets new UUIDs, as a new Nova service would.
 */
export function derivedUuid(kind: string, name: string, id: string | number): string {
  const hex = createHash('sha1').update(`novaless:${kind}:${name}:${id}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const serviceUuid = (host: Pick<Host, 'host' | 'service_id'>) => derivedUuid('service', host.host, host.service_id);
export const computeNodeUuid = (host: Pick<Host, 'host' | 'id'>) => derivedUuid('compute-node', host.host, host.id);

/** oslo's is_uuid_like: a UUID, hyphens optional, any case. */
export const isUuidLike = (text: string) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(text);
/** The canonical form of a UUID-like text, to compare it with ours. */
export const canonicalUuid = (text: string) => text.toLowerCase().replace(/-/g, '').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
