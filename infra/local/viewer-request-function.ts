import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Script } from 'node:vm';

/** The parts of a CloudFront Functions viewer-request event the local front fills in. */
export interface ViewerRequest {
  method: string;
  uri: string;
  querystring: Record<string, { value: string }>;
  headers: Record<string, { value: string }>;
  cookies: Record<string, { value: string }>;
}

export interface ViewerResponse {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, { value: string }>;
  body?: string | { data: string; encoding: 'text' | 'base64' };
}

/** What the function decided: the request to send on (to the origin it selected, if any), or its own answer. */
export type ViewerRequestOutcome =
  | { kind: 'request'; request: ViewerRequest; originId?: string }
  | { kind: 'response'; response: ViewerResponse };

export type ViewerRequestFunction = (request: ViewerRequest, requestId: string) => Promise<ViewerRequestOutcome>;

const CLOUDFRONT_IMPORT = /^\s*import\s+cf\s+from\s+['"]cloudfront['"];?\s*$/m;

/**
 * Runs a CloudFront Functions (cloudfront-js-2.0) viewer-request function file as CloudFront
 * would, in its own V8 context: `import cf from 'cloudfront'` gets a stand-in whose `kvs().get`
 * reads `keyValues` and whose `selectRequestOriginById` records the origin; `require('crypto')`
 * and `Buffer` are Node's, which have the calls the runtime documents (createHmac, base64url).
 */
export function loadViewerRequestFunction(file: string, keyValues: (key: string) => string): ViewerRequestFunction {
  const source = readFileSync(file, 'utf8');
  if (!CLOUDFRONT_IMPORT.test(source)) throw new Error(`${file} does not import the cloudfront module`);
  const body = source.replace(CLOUDFRONT_IMPORT, '');
  const factory = new Script(`(function (cf, require) {\n${body}\nreturn handler;\n})`, { filename: file }).runInNewContext({
    Buffer,
  }) as (cf: unknown, require: (id: string) => unknown) => (event: unknown) => Promise<ViewerRequest | ViewerResponse>;
  const nodeRequire = createRequire(import.meta.url);
  const require = (id: string) => {
    if (id !== 'crypto') throw new Error(`CloudFront Functions have no module ${id}`);
    return nodeRequire('node:crypto');
  };

  return async (request, requestId) => {
    let originId: string | undefined;
    const cf = {
      kvs: () => ({
        get: async (key: string) => keyValues(key),
      }),
      selectRequestOriginById: (id: string) => {
        originId = id;
      },
    };
    const event = {
      version: '1.0',
      context: { distributionDomainName: 'localhost', distributionId: 'LOCAL', eventType: 'viewer-request', requestId },
      viewer: { ip: '127.0.0.1' },
      request,
    };
    const result = await factory(cf, require)(event);
    if ('statusCode' in result) return { kind: 'response', response: result };
    return { kind: 'request', request: result, originId };
  };
}
