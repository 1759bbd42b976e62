import { BadRequest, NotAcceptable } from '../../../shared/errors.js';

/**
 * Compute API microversions. MAX is the highest version whose changes are implemented for every
 * resource this API has (see the `v2.NN/` folders of the Nova API samples); raise it only with them.
 */
export const MIN_VERSION = '2.1';
export const MAX_VERSION = '2.100';

export class Microversion {
  constructor(
    readonly major: number,
    readonly minor: number,
  ) {}

  static parse(text: string): Microversion {
    const m = /^(\d+)\.(\d+)$/.exec(text.trim());
    if (!m) throw new BadRequest(`Invalid API version request ${text}`);
    return new Microversion(Number(m[1]), Number(m[2]));
  }

  /** True when this request's version is at least `version` (e.g. `mv.atLeast('2.47')`). */
  atLeast(version: string): boolean {
    const v = Microversion.parse(version);
    return this.major > v.major || (this.major === v.major && this.minor >= v.minor);
  }

  toString(): string {
    return `${this.major}.${this.minor}`;
  }
}

export const minVersion = Microversion.parse(MIN_VERSION);
export const maxVersion = Microversion.parse(MAX_VERSION);

/**
 * The version a request asks for, from `OpenStack-API-Version: compute X` or the legacy
 * `X-OpenStack-Nova-API-Version: X`; the minimum when neither is given; 406 outside the range.
 */
export function requestedVersion(headers: Record<string, string>): Microversion {
  let text: string | undefined;
  const modern = headers['openstack-api-version'];
  if (modern) {
    for (const part of modern.split(',')) {
      const [service, value] = part.trim().split(/\s+/);
      if (service?.toLowerCase() === 'compute' && value) text = value;
    }
  }
  text ??= headers['x-openstack-nova-api-version'];
  if (!text) return minVersion;
  if (text.trim().toLowerCase() === 'latest') return maxVersion;
  const v = Microversion.parse(text);
  if (!v.atLeast(MIN_VERSION) || !maxVersion.atLeast(v.toString())) {
    throw new NotAcceptable(`Version ${v} is not supported by the API. Minimum is ${MIN_VERSION} and maximum is ${MAX_VERSION}.`);
  }
  return v;
}

/** Headers every compute response carries: the version used, echoed both ways, and Vary. */
export function versionHeaders(v: Microversion): Record<string, string> {
  return {
    'OpenStack-API-Version': `compute ${v}`,
    'X-OpenStack-Nova-API-Version': v.toString(),
    Vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
  };
}
