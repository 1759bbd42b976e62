import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { objects } from '../../shared/aws.js';
import { edge } from '../../shared/resources.js';
import { apiGatewayProxy, type ApiHandler } from './api-server.js';
import { loadViewerRequestFunction, type ViewerRequest, type ViewerResponse } from './viewer-request-function.js';

/** S3's limit for one PUT, which s3rver does not enforce. */
const S3_MAX_PUT_BYTES = 5 * 1024 ** 3;

export interface EdgeOptions {
  /** The API Lambda handler, behind the API Gateway stand-in. */
  api: ApiHandler;
  /** The image bucket: the storage origin. */
  bucket: string;
  /** The front's KeyValueStore (on AWS filled at deploy time): the token signing key, base64. */
  keyValues: (key: string) => string;
  port: number;
  host?: string;
}

/**
 * The local stand-in for the stack's CloudFront distribution (infra/constructs/public-front.ts):
 * requests under `edge.imageDataPathPattern` first run the very viewer-request function file
 * CloudFront runs (`edge.functionFile`); when it selects the storage origin, the body streams to
 * the local S3 at the key it chose, signed as origin access control would sign it. Everything
 * else goes to the API Gateway stand-in, with its 6 MB cap.
 */
export function startEdgeServer(options: EdgeOptions): Promise<Server> {
  const viewerRequest = loadViewerRequestFunction(edge.functionFile, options.keyValues);
  const toApi = apiGatewayProxy(options.api);
  const behavior = pathPatternRegExp(edge.imageDataPathPattern);

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (!behavior.test(url.pathname)) return toApi(req, res);
    const outcome = await viewerRequest(viewerRequestOf(req, url), randomUUID());
    if (outcome.kind === 'response') return respond(req, res, outcome.response);
    if (outcome.originId === edge.storageOriginId) return toStorage(req, res, options.bucket, outcome.request.uri);
    // The function sends everything else on unchanged.
    return toApi(req, res);
  };

  const server = createServer((req, res) => {
    serve(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `Bad gateway: ${(err as Error).message}` }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve(server));
  });
}

/** CloudFront path patterns: `*` matches any run of characters, `/` included. */
function pathPatternRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function viewerRequestOf(req: IncomingMessage, url: URL): ViewerRequest {
  const headers: ViewerRequest['headers'] = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = { value: Array.isArray(value) ? value.join(',') : value };
  }
  const querystring: ViewerRequest['querystring'] = {};
  for (const [name, value] of url.searchParams) querystring[name] = { value };
  return { method: req.method ?? 'GET', uri: url.pathname, querystring, headers, cookies: {} };
}

async function toStorage(req: IncomingMessage, res: ServerResponse, bucket: string, uri: string): Promise<void> {
  const length = req.headers['content-length'];
  if (length === undefined) return s3Error(req, res, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  if (Number(length) > S3_MAX_PUT_BYTES) {
    return s3Error(req, res, 400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
  }
  const key = decodeURIComponent(uri.replace(/^\//, ''));
  const url = await getSignedUrl(objects(), new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
  const headers: Record<string, string> = { 'content-length': length };
  if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
  const upstream = httpRequest(url, { method: 'PUT', headers });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    upstream.once('response', resolve);
    upstream.once('error', reject);
  });
  await pipeline(req, upstream);
  const answer = await answered;
  res.writeHead(answer.statusCode ?? 502, answer.headers);
  await pipeline(answer, res);
}

function s3Error(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', Connection: 'close' });
  res.end(body);
  req.resume();
}

function respond(req: IncomingMessage, res: ServerResponse, response: ViewerResponse): void {
  const headers: Record<string, string> = {};
  for (const [name, { value }] of Object.entries(response.headers ?? {})) headers[name] = value;
  const body =
    typeof response.body === 'string'
      ? Buffer.from(response.body)
      : response.body
        ? Buffer.from(response.body.data, response.body.encoding === 'base64' ? 'base64' : 'utf8')
        : Buffer.alloc(0);
  res.writeHead(response.statusCode, { ...headers, 'Content-Length': body.length });
  res.end(body);
  // CloudFront answers without taking the body to the origin: discard what the client still sends.
  req.resume();
}
