import { json } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { computeBase } from './links.js';
import { MAX_VERSION, MIN_VERSION } from './microversion.js';

/**
 * Version discovery, as Nova gives it: the root lists the legacy v2.0 API (DEPRECATED, no
 * microversions) and v2.1 (CURRENT, with its microversion range). Each answers its own version
 * document at its URL. Only the version document of v2.0 is served here, not the legacy API
 * itself: clients that discover versions pick v2.1, the only one with microversions.
 */
const V20 = { id: 'v2.0', status: 'DEPRECATED', version: '', min_version: '', updated: '2025-07-04T12:00:00Z' };
const V21 = { id: 'v2.1', status: 'CURRENT', version: MAX_VERSION, min_version: MIN_VERSION, updated: '2013-07-23T11:33:21Z' };

const selfLink = (href: string) => ({ href, rel: 'self' });

export function versionsDoc(base: string) {
  return {
    versions: [
      { ...V20, links: [selfLink(`${base}/v2/`)] },
      { ...V21, links: [selfLink(`${base}/v2.1/`)] },
    ],
  };
}

function versionDocOf(version: typeof V20 | typeof V21, href: string, mediaVersion: string) {
  return {
    version: {
      ...version,
      links: [selfLink(href), { href: 'http://docs.openstack.org/', rel: 'describedby', type: 'text/html' }],
      'media-types': [{ base: 'application/json', type: `application/vnd.openstack.compute+json;version=${mediaVersion}` }],
    },
  };
}

export const versionDoc = (base: string) => versionDocOf(V21, `${base}/v2.1/`, '2.1');
export const legacyVersionDoc = (base: string) => versionDocOf(V20, `${base}/v2/`, '2');

export const versionRoutes: Route[] = [
  { method: 'GET', path: '/compute', service: 'compute', public: true, handler: async (req: ApiRequest) => json(200, versionsDoc(computeBase(req))) },
  { method: 'GET', path: '/compute/v2', service: 'compute', public: true, handler: async (req: ApiRequest) => json(200, legacyVersionDoc(computeBase(req))) },
  { method: 'GET', path: '/compute/v2.1', service: 'compute', public: true, handler: async (req: ApiRequest) => json(200, versionDoc(computeBase(req))) },
];
