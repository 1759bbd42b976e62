import { BadRequest, Forbidden, NotFound } from '../../../shared/errors.js';
import { config } from '../../../shared/config.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { AuthRequestSchema, authenticate } from './authenticate.js';
import { buildCatalog } from './catalog.js';
import { DEFAULT_DOMAIN } from './default-domain.js';
import { revokeToken } from './revocations.js';
import { isAdmin, type TokenContext } from './token-context.js';
import { issueToken, verifyToken } from './token-service.js';

/** A token in keystone's v3 response format. */
export function tokenBody(context: TokenContext, baseUrl: string, withCatalog: boolean) {
  const domain = { ...DEFAULT_DOMAIN };
  return {
    token: {
      methods: context.methods,
      user: { id: context.user_id, name: context.user_name, domain, password_expires_at: null },
      project: { id: context.project_id, name: context.project_name, domain },
      roles: context.roles,
      is_domain: false,
      ...(withCatalog ? { catalog: buildCatalog(baseUrl, config().REGION_NAME) } : {}),
      expires_at: context.expires_at,
      issued_at: context.issued_at,
      audit_ids: [context.id],
    },
  };
}

const withCatalog = (req: ApiRequest) => !req.query.has('nocatalog');

/** `POST /v3/auth/tokens` (201, the token in X-Subject-Token): password or token method, project scope. */
async function issue(req: ApiRequest) {
  const { auth } = parseBody(req, AuthRequestSchema);
  const { claims, expiresAt } = await authenticate(auth);
  const { token, context } = await issueToken(claims, expiresAt);
  return json(201, tokenBody(context, req.baseUrl, withCatalog(req)), { 'X-Subject-Token': token });
}

/** The token named by X-Subject-Token, which the caller may inspect if it is theirs or the caller is an admin. */
async function subjectToken(req: ApiRequest, action: string): Promise<{ token: string; context: TokenContext }> {
  const token = req.headers['x-subject-token'];
  if (!token) throw new BadRequest('The X-Subject-Token header is required.');
  let context: TokenContext;
  try {
    context = await verifyToken(token);
  } catch {
    // The token is a credential: not echoed back.
    throw new NotFound('Could not find token.');
  }
  if (!isAdmin(req.auth) && context.user_id !== req.auth.user_id) {
    throw new Forbidden(`You are not authorized to perform the requested action: identity:${action}.`);
  }
  return { token, context };
}

/** `GET /v3/auth/tokens` (200, 404 for an invalid subject token); HEAD goes through here too. */
async function validate(req: ApiRequest) {
  const { token, context } = await subjectToken(req, 'validate_token');
  return json(200, tokenBody(context, req.baseUrl, withCatalog(req)), { 'X-Subject-Token': token });
}

/** `DELETE /v3/auth/tokens` (204): revokes the subject token (`openstack token revoke`, keystoneauth's invalidate). */
async function revoke(req: ApiRequest) {
  const { context } = await subjectToken(req, 'revoke_token');
  await revokeToken(context);
  return json(204);
}

export const tokenRoutes: Route[] = [
  { method: 'POST', path: '/identity/v3/auth/tokens', service: 'identity', public: true, handler: issue },
  { method: 'GET', path: '/identity/v3/auth/tokens', service: 'identity', handler: validate },
  { method: 'DELETE', path: '/identity/v3/auth/tokens', service: 'identity', handler: revoke },
];
