import type { Host } from '../../../shared/domain/host.js';
import type { RequestSpec } from '../request-spec.js';

/** A weigher scores hosts; higher is better. Scores are normalised to 0..1 and multiplied, as Nova does. */
export interface HostWeigher {
  readonly name: string;
  readonly multiplier: number;
  weigh(host: Host, spec: RequestSpec): number;
}
