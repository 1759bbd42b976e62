import type { Host } from '../../shared/domain/host.js';
import { enabledFilters } from './filters/index.js';
import type { FilterContext, HostFilter } from './filters/host-filter.js';
import type { RequestSpec } from './request-spec.js';
import { weighHosts } from './weighers/index.js';

export interface Selection {
  /** Hosts that passed every filter, best first. */
  hosts: Host[];
  /** How many hosts each filter rejected, in filter order. */
  rejections: { filter: string; rejected: number }[];
  considered: number;
}

export function selectHosts(all: Host[], spec: RequestSpec, ctx: FilterContext, filters: HostFilter[] = enabledFilters): Selection {
  if (spec.forcedHost) return { hosts: all.filter((h) => h.host === spec.forcedHost), rejections: [], considered: all.length };
  let remaining = spec.requestedHost ? all.filter((h) => h.host === spec.requestedHost) : all;
  const rejections: Selection['rejections'] = [];
  for (const f of filters) {
    const passed = remaining.filter((h) => f.passes(h, spec, ctx));
    rejections.push({ filter: f.name, rejected: remaining.length - passed.length });
    remaining = passed;
  }
  return { hosts: weighHosts(remaining, spec), rejections, considered: all.length };
}

/** Nova's NoValidHost message, with how many hosts each filter turned away. */
export function noValidHostMessage(sel: Selection): string {
  const detail = sel.rejections
    .filter((r) => r.rejected > 0)
    .map((r) => `${r.filter} rejected ${r.rejected}`)
    .join(', ');
  return `No valid host was found. There are not enough hosts available. Considered ${sel.considered} host(s)${detail ? `: ${detail}` : ''}.`;
}
