import { NotFound } from '../../../../shared/errors.js';
import { json } from '../../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../../http/types.js';
import extensionList from './extension-list.json' with { type: 'json' };

/**
 * `GET /extensions[/{alias}]`: the v2.1 API's frozen extension list. Nova answers with a fixed
 * list of its historical extensions (nova/api/openstack/compute/extension_info.py, kept for old
 * clients), whatever a cloud runs; this is the same list, as [alias, name, description] rows.
 */
const EXTENSIONS = (extensionList as [string, string, string][]).map(([alias, name, description]) => ({
  alias,
  description,
  links: [],
  name,
  namespace: 'http://docs.openstack.org/compute/ext/fake_xml',
  updated: '2014-12-03T00:00:00Z',
}));

const BASE = '/compute/v2.1/extensions';

async function listExtensions(): Promise<ApiResponse> {
  return json(200, { extensions: EXTENSIONS });
}

async function showExtension(req: ApiRequest): Promise<ApiResponse> {
  const extension = EXTENSIONS.find((e) => e.alias === req.params.alias);
  if (!extension) throw new NotFound('The resource could not be found.');
  return json(200, { extension });
}

export const extensionRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: listExtensions },
  { method: 'GET', path: `${BASE}/{alias}`, service: 'compute', handler: showExtension },
];
