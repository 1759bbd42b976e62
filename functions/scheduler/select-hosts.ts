import { config } from '../../shared/config.js';
import type { Aggregate } from '../../shared/domain/aggregate.js';
import type { Host } from '../../shared/domain/host.js';
import { listAggregates } from '../../shared/store/aggregates.js';
import { listHosts } from '../../shared/store/hosts.js';
import { withAggregateRatios } from './allocation-ratios.js';
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

/**
 * The hosts in the table filtered and weighed for the spec, each seen with its capacity under its
 * aggregates' allocation ratios; `best` is the stored record of the first (the one to claim on).
 */
export async function selectStoredHosts(spec: RequestSpec): Promise<{ selection: Selection; best?: Host; aggregates: Aggregate[] }> {
  const [stored, aggregates] = await Promise.all([listHosts(), listAggregates()]);
  const hosts = stored.map((h) => withAggregateRatios(h, aggregates));
  const selection = selectHosts(hosts, spec, { now: Date.now(), serviceDownTime: config().SERVICE_DOWN_TIME, aggregates });
  const first = selection.hosts[0];
  return { selection, aggregates, best: first && stored.find((h) => h.host === first.host) };
}

/** Nova's NoValidHost message, with how many hosts each filter turned away. */
export function noValidHostMessage(sel: Selection): string {
  const detail = sel.rejections
    .filter((r) => r.rejected > 0)
    .map((r) => `${r.filter} rejected ${r.rejected}`)
    .join(', ');
  return `No valid host was found. There are not enough hosts available. Considered ${sel.considered} host(s)${detail ? `: ${detail}` : ''}.`;
}
