import { config } from '../../../shared/config.js';
import { json } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { buildCatalog } from './catalog.js';
import { collectionLinks } from './links.js';
import { projectView } from './projects.js';
import { assignmentsOf } from './store/assignments.js';
import { getProject } from './store/projects.js';

/** `GET /v3/auth/catalog`: the catalog of the caller's token. */
async function catalog(req: ApiRequest) {
  return json(200, { catalog: buildCatalog(req.baseUrl, config().REGION_NAME), links: collectionLinks(req) });
}

/** `GET /v3/auth/projects`: the enabled projects the caller may scope a token to. */
async function projects(req: ApiRequest) {
  const ids = [...new Set((await assignmentsOf(req.auth.user_id)).map((a) => a.project_id))];
  const found = (await Promise.all(ids.map((id) => getProject(id)))).filter((p) => p !== undefined && p.enabled);
  return json(200, { projects: found.map((p) => projectView(req, p!)), links: collectionLinks(req) });
}

export const authScopeRoutes: Route[] = [
  { method: 'GET', path: '/identity/v3/auth/catalog', service: 'identity', handler: catalog },
  { method: 'GET', path: '/identity/v3/auth/projects', service: 'identity', handler: projects },
];
