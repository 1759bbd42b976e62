import type { Aggregate } from '../../../shared/domain/aggregate.js';
import type { Host } from '../../../shared/domain/host.js';
import type { RequestSpec } from '../request-spec.js';

export interface FilterContext {
  now: number;
  serviceDownTime: number;
  /** Every host aggregate, for the filters that read their metadata. */
  aggregates: Aggregate[];
}

/** One question per filter: does this host pass for this request? (nova/scheduler/filters) */
export interface HostFilter {
  readonly name: string;
  passes(host: Host, spec: RequestSpec, ctx: FilterContext): boolean;
}
