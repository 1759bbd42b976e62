import type { Aggregate } from '../../shared/domain/aggregate.js';
import type { Host } from '../../shared/domain/host.js';

/** Aggregate metadata keys that override a host's own ratio, and the host fields they override. */
const RATIO_KEYS = {
  cpu_allocation_ratio: { total: 'vcpus', limit: 'vcpus_limit' },
  ram_allocation_ratio: { total: 'memory_mb', limit: 'memory_mb_limit' },
  disk_allocation_ratio: { total: 'disk_gb', limit: 'disk_gb_limit' },
} as const;
type RatioKey = keyof typeof RATIO_KEYS;

/**
 * The ratio a host's aggregates give for a key, as Nova's Aggregate{Core,Ram,Disk}Filter read it
 * (utils.validate_num_values): the smallest of their values; none, or one that is not a positive
 * number, leaves the host's own ratio (Nova logs and falls back to it too).
 */
function aggregateRatio(aggregates: Aggregate[], host: string, key: RatioKey): number | undefined {
  const values = aggregates.filter((a) => a.hosts.includes(host) && a.metadata[key] !== undefined).map((a) => a.metadata[key].trim());
  if (!values.length) return undefined;
  const numbers = values.map(Number);
  if (numbers.some((n) => !Number.isFinite(n) || n <= 0)) return undefined;
  return Math.min(...numbers);
}

/** The aggregates whose metadata sets one of the host's ratios: a claim on those limits holds only while they are unchanged. */
export function ratioAggregatesOf(aggregates: Aggregate[], host: string): Aggregate[] {
  return aggregates.filter((a) => a.hosts.includes(host) && Object.keys(RATIO_KEYS).some((k) => a.metadata[k] !== undefined));
}

/**
 * The host as the scheduler weighs it: its ratios, and the capacity limits they give
 * (total × ratio, rounded down as the conductor does), overridden by its aggregates' metadata.
 */
export function withAggregateRatios(host: Host, aggregates: Aggregate[]): Host {
  const effective = { ...host };
  for (const [key, fields] of Object.entries(RATIO_KEYS) as [RatioKey, (typeof RATIO_KEYS)[RatioKey]][]) {
    const ratio = aggregateRatio(aggregates, host.host, key);
    if (ratio === undefined) continue;
    effective[key] = ratio;
    effective[fields.limit] = Math.floor(host[fields.total] * ratio);
  }
  return effective;
}
