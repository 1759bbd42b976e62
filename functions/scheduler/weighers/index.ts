import type { Host } from '../../../shared/domain/host.js';
import type { HostWeigher } from './host-weigher.js';
import type { RequestSpec } from '../request-spec.js';
import { RamWeigher } from './ram-weigher.js';
import { ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher } from './server-group-weighers.js';

export const enabledWeighers: HostWeigher[] = [RamWeigher, ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher];

/** Orders hosts best first: each weigher's raw scores normalised to 0..1, times its multiplier, summed. */
export function weighHosts(hosts: Host[], spec: RequestSpec, weighers: HostWeigher[] = enabledWeighers): Host[] {
  const totals = new Map<Host, number>(hosts.map((h) => [h, 0]));
  for (const w of weighers) {
    const raw = hosts.map((h) => w.weigh(h, spec));
    const [min, max] = [Math.min(...raw), Math.max(...raw)];
    hosts.forEach((h, i) => totals.set(h, totals.get(h)! + w.multiplier * (max === min ? 0 : (raw[i] - min) / (max - min))));
  }
  return [...hosts].sort((a, b) => totals.get(b)! - totals.get(a)! || a.host.localeCompare(b.host));
}
