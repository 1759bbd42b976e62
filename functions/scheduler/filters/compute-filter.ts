import { isHostUp } from '../../../shared/domain/host.js';
import type { HostFilter } from './host-filter.js';

/** The host's compute service is enabled and up (heartbeat within service_down_time). */
export const ComputeFilter: HostFilter = {
  name: 'ComputeFilter',
  passes: (host, _spec, ctx) => host.status === 'enabled' && isHostUp(host, ctx.serviceDownTime, ctx.now),
};
