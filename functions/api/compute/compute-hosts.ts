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
