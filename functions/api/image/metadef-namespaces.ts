import { BadRequest, NotFound } from '../../../shared/errors.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';

/**
 * Glance's metadata definitions catalog (`/v2/metadefs/namespaces`): the property vocabularies
 * dashboards offer when they edit image, flavor and server metadata. novaless holds none and has
 * no API to create them, so it answers as a glance whose catalog was never loaded
 * (`glance-manage db_load_metadefs` not run, as the install guide leaves it): every list is empty,
 * every namespace is a 404. Horizon's image and launch dialogs ask for them before they open.
 */

const namespaceNotFound = (name: string) => new NotFound(`Metadata definition namespace=${name} was not found.`);

/** glance's index deserializer: limit, sort_dir and visibility checked, in its words. */
function checkListQuery(query: URLSearchParams): void {
  const limit = query.get('limit');
  if (limit !== null) {
    if (!/^-?\d+$/.test(limit.trim())) throw new BadRequest('limit param must be an integer');
    if (Number(limit) < 0) throw new BadRequest('limit param must be positive');
  }
  const sortDir = query.get('sort_dir');
  if (sortDir !== null && sortDir !== 'asc' && sortDir !== 'desc') throw new BadRequest(`Invalid sort direction: ${sortDir}`);
  const visibility = query.get('visibility');
  if (visibility && visibility !== 'public' && visibility !== 'private') throw new BadRequest(`Invalid visibility value: ${visibility}`);
}

/** GET /v2/metadefs/namespaces: no namespaces; `first` repeats the query without its marker, as glance's serializer does. */
async function list(req: ApiRequest): Promise<ApiResponse> {
  checkListQuery(req.query);
  const marker = req.query.get('marker');
  // A marker names the namespace the page starts after: one that does not exist is glance's 404.
  if (marker) throw namespaceNotFound(marker);
  const params = new URLSearchParams(req.query);
  params.delete('marker');
  const query = params.toString();
  return json(200, {
    namespaces: [],
    first: `/v2/metadefs/namespaces${query ? `?${query}` : ''}`,
    schema: '/v2/schemas/metadefs/namespaces',
  });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  throw namespaceNotFound(req.params.namespace);
}

/** GET /v2/metadefs/resource_types: the resource types the loaded namespaces name, so none. */
async function listResourceTypes(): Promise<ApiResponse> {
  return json(200, { resource_types: [] });
}

export const metadefNamespaceRoutes: Route[] = [
  { method: 'GET', path: '/image/v2/metadefs/namespaces', service: 'image', handler: list },
  { method: 'GET', path: '/image/v2/metadefs/namespaces/{namespace}', service: 'image', handler: show },
  { method: 'GET', path: '/image/v2/metadefs/resource_types', service: 'image', handler: listResourceTypes },
];
