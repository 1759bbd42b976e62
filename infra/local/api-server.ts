import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';

/** Lambda's synchronous invocation payload limit; API Gateway answers 413 above it. */
export const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Hands HTTP requests to the API Lambda handler the way API Gateway's REST proxy integration
 * does: each request becomes one proxy event, bodies of binary media types
 * (application/octet-stream, as the stack declares) are base64-encoded, and the same payload cap
 * applies: larger bodies get 413 and never reach the function.
 */
export function apiGatewayProxy(handler: ApiHandler) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > LAMBDA_PAYLOAD_LIMIT) return tooLarge(req, res);
      chunks.push(chunk as Buffer);
    }
    const event = toEvent(req, Buffer.concat(chunks));
    if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_PAYLOAD_LIMIT) return tooLarge(req, res);
    respond(req, res, await handler(event, lambdaContext('api')));
  };
}

function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(413, { 'Content-Type': 'application/json', Connection: 'close' });
  res.end(JSON.stringify({ message: 'Request Entity Too Large' }));
  req.destroy();
}

const isBinary = (req: IncomingMessage) => /application\/octet-stream/i.test(req.headers['content-type'] ?? '');

function respond(req: IncomingMessage, res: ServerResponse, result: APIGatewayProxyResult): void {
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '');
  const headers: Record<string, string | number> = { ...(result.headers as Record<string, string>) };
  headers['Content-Length'] = body.length;
  res.writeHead(result.statusCode, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function toEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const [k, v] = [req.rawHeaders[i], req.rawHeaders[i + 1]];
    headers[k] = v;
    (multiValueHeaders[k] ??= []).push(v);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  const binary = isBinary(req);
  return {
    httpMethod: req.method ?? 'GET',
    path: url.pathname,
    resource: '/{proxy+}',
    headers,
    multiValueHeaders,
    queryStringParameters: url.searchParams.size ? query : null,
    multiValueQueryStringParameters: url.searchParams.size ? multiQuery : null,
    pathParameters: { proxy: url.pathname.slice(1) },
    stageVariables: null,
    body: body.length ? body.toString(binary ? 'base64' : 'utf8') : null,
    isBase64Encoded: binary && body.length > 0,
    requestContext: { stage: '$default', requestId: randomUUID(), httpMethod: req.method, path: url.pathname } as never,
  };
}
