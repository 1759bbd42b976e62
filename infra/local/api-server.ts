import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';

/** Lambda's synchronous invocation payload limit; API Gateway answers 413 above it. */
export const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;

type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Serves the API Lambda handler over HTTP the way API Gateway's REST proxy integration does:
 * each request becomes one proxy event, bodies of binary media types (application/octet-stream,
 * as the stack declares) are base64-encoded, and the same payload cap applies.
 * Except for binary uploads declared larger than the cap (image data): like the large-upload
 * front described in docs/images.md, it hands the function their headers only, discards the
 * body, and answers what the function answered (the image API's redirect to S3).
 */
export function startApiServer(handler: ApiHandler, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    serve(handler, req, res).catch((err) => {
      res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `Internal server error: ${(err as Error).message}` }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

const isBinary = (req: IncomingMessage) => /application\/octet-stream/i.test(req.headers['content-type'] ?? '');

async function serve(handler: ApiHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (isBinary(req) && Number(req.headers['content-length'] ?? 0) > LAMBDA_PAYLOAD_LIMIT) {
    const result = await handler(toEvent(req, Buffer.alloc(0)), lambdaContext('api'));
    // A client sends the whole body before it reads the answer (python-requests does): take it all.
    for await (const _ of req);
    return respond(req, res, result);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > LAMBDA_PAYLOAD_LIMIT) {
      res.writeHead(413, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end(JSON.stringify({ message: 'Request Entity Too Large' }));
      req.destroy();
      return;
    }
    chunks.push(chunk as Buffer);
  }
  const event = toEvent(req, Buffer.concat(chunks));
  if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_PAYLOAD_LIMIT) {
    res.writeHead(413, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: 'Request Entity Too Large' }));
    return;
  }
  respond(req, res, await handler(event, lambdaContext('api')));
}

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
    path: decodeURIComponent(url.pathname),
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
