import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError, Unauthorized } from '../../shared/errors.js';
import { requestedVersion, minVersion, versionHeaders } from './compute/microversion.js';
import type { ApiRequest, ApiResponse } from './http/types.js';
import { Router } from './http/router.js';
import { verifyToken } from './identity/token-service.js';
import type { TokenContext } from './identity/token-context.js';
import { errorResponse } from './middleware/error-response.js';
import { requestId, type ApiContext } from './middleware/request-id.js';
import { routes } from './routes.js';

const router = new Router(routes);

/** Lambda entry point of the API: API Gateway (REST, proxy integration) event in, response out. */
async function handle(event: APIGatewayProxyEvent, context: ApiContext): Promise<APIGatewayProxyResult> {
  const method = event.httpMethod.toUpperCase();
  // Taken as sent: an empty segment (`/servers//ips`) names no resource, as in Nova's routes,
  // rather than collapsing into another one (`/servers/ips`).
  const path = event.path || '/';
  const { route, params } = router.match(method, path);
  const headers = lowerCaseKeys(event.headers ?? {});

  let auth: TokenContext | undefined;
  if (!route.public) {
    const token = headers['x-auth-token'];
    if (!token) throw new Unauthorized();
    auth = await verifyToken(token);
  }
  // After the token, as in Nova, where keystonemiddleware runs before the version is read.
  const microversion = route.service === 'compute' ? requestedVersion(headers) : minVersion;

  const req: ApiRequest = {
    method,
    path,
    params,
    query: queryOf(event),
    headers,
    body: event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0),
    requestId: context.requestId,
    baseUrl: baseUrlOf(event, headers),
    auth: auth as TokenContext,
    microversion,
  };
  const extra = route.service === 'compute' ? versionHeaders(microversion) : {};
  try {
    return toResult(await route.handler(req), method, extra);
  } catch (err) {
    // Nova's faults carry the version headers too.
    if (err instanceof ApiError) Object.assign(err.headers, extra);
    throw err;
  }
}

function toResult(res: ApiResponse, method: string, extra: Record<string, string>): APIGatewayProxyResult {
  const headers: Record<string, string> = { ...extra, ...res.headers };
  if (res.body === undefined || method === 'HEAD') {
    return { statusCode: res.status, headers, body: '' };
  }
  if (Buffer.isBuffer(res.body)) {
    return {
      statusCode: res.status,
      headers: { 'Content-Type': 'application/octet-stream', ...headers },
      body: res.body.toString('base64'),
      isBase64Encoded: true,
    };
  }
  return { statusCode: res.status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(res.body) };
}

function lowerCaseKeys(h: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).flatMap(([k, v]) => (v === undefined ? [] : [[k.toLowerCase(), v]])));
}

function queryOf(event: APIGatewayProxyEvent): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, vs] of Object.entries(event.multiValueQueryStringParameters ?? {})) for (const v of vs ?? []) q.append(k, v);
  if (!event.multiValueQueryStringParameters) for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) q.append(k, v);
  return q;
}

/** The URL clients used to reach us: PUBLIC_ENDPOINT if set, else the Host header and the API Gateway stage. */
function baseUrlOf(event: APIGatewayProxyEvent, headers: Record<string, string>): string {
  if (process.env.PUBLIC_ENDPOINT) return process.env.PUBLIC_ENDPOINT.replace(/\/$/, '');
  const proto = headers['x-forwarded-proto'] ?? 'https';
  const stage = event.requestContext?.stage;
  return `${proto}://${headers.host ?? 'localhost'}${stage && stage !== '$default' ? `/${stage}` : ''}`;
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, ApiContext>(handle)
  .use(requestId())
  .use(errorResponse());
