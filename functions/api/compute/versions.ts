import { json } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { computeBase } from './links.js';
import { MAX_VERSION, MIN_VERSION } from './microversion.js';

/**
 * Version discovery. Only v2.1 is served (the legacy v2.0 API is not), so only v2.1 is listed:
 * listing v2.0 would send clients to a URL that does not answer.
 */
const V21 = { id: 'v2.1', status: 'CURRENT', version: MAX_VERSION, min_version: MIN_VERSION, updated: '2013-07-23T11:33:21Z' };

export function versionsDoc(base: string) {
  return { versions: [{ ...V21, links: [{ href: `${base}/v2.1/`, rel: 'self' }] }] };
}

export function versionDoc(base: string) {
  return {
    version: {
      ...V21,
      links: [
        { href: `${base}/v2.1/`, rel: 'self' },
        { href: 'http://docs.openstack.org/', rel: 'describedby', type: 'text/html' },
      ],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
    },
  };
}

export const versionRoutes: Route[] = [
  { method: 'GET', path: '/compute', service: 'compute', public: true, handler: async (req: ApiRequest) => json(200, versionsDoc(computeBase(req))) },
  { method: 'GET', path: '/compute/v2.1', service: 'compute', public: true, handler: async (req: ApiRequest) => json(200, versionDoc(computeBase(req))) },
];
