import { z } from 'zod';
import { NotFound } from '../../../shared/errors.js';
import { json, parseQuery } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { DEFAULT_DOMAIN, isDefaultDomain } from './default-domain.js';
import { collectionLinks, v3Url } from './links.js';

const DomainListQuerySchema = z.object({
  name: z.string().optional(),
  enabled: z.string().optional(),
});

const domainView = (req: ApiRequest) => ({
  ...DEFAULT_DOMAIN,
  description: 'The default domain',
  enabled: true,
  tags: [],
  options: {},
  links: { self: v3Url(req, `/domains/${DEFAULT_DOMAIN.id}`) },
});

/** `GET /v3/domains`: the Default domain, the only one (the CLI resolves domains by name through this). */
async function listDomains(req: ApiRequest) {
  const query = parseQuery(req, DomainListQuerySchema);
  const matches = (query.name === undefined || query.name === DEFAULT_DOMAIN.name) && query.enabled?.toLowerCase() !== 'false';
  return json(200, { domains: matches ? [domainView(req)] : [], links: collectionLinks(req) });
}

async function showDomain(req: ApiRequest) {
  // By id only, as keystone: the CLI looks names up through the list.
  if (!isDefaultDomain({ id: req.params.domain_id })) throw new NotFound(`Could not find domain: ${req.params.domain_id}.`);
  return json(200, { domain: domainView(req) });
}

export const domainRoutes: Route[] = [
  { method: 'GET', path: '/identity/v3/domains', service: 'identity', handler: listDomains },
  { method: 'GET', path: '/identity/v3/domains/{domain_id}', service: 'identity', handler: showDomain },
];
