import { json } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';

/** Identity API v3.14 (keystone Ussuri and later report this version). */
const versionOf = (req: ApiRequest) => ({
  id: 'v3.14',
  status: 'stable',
  updated: '2020-04-07T00:00:00Z',
  links: [{ rel: 'self', href: `${req.baseUrl}/identity/v3/` }],
  'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
});

/** `GET /identity`: keystone answers 300 Multiple Choices with the list of versions. */
async function listVersions(req: ApiRequest) {
  return json(300, { versions: { values: [versionOf(req)] } });
}

/** `GET /identity/v3`: the version document clients discover before authenticating. */
async function showVersion(req: ApiRequest) {
  return json(200, { version: versionOf(req) });
}

export const versionRoutes: Route[] = [
  { method: 'GET', path: '/identity', service: 'identity', public: true, handler: listVersions },
  { method: 'GET', path: '/identity/v3', service: 'identity', public: true, handler: showVersion },
];
