import type { Microversion } from '../compute/microversion.js';
import type { TokenContext } from '../identity/token-context.js';

/** The OpenStack service a route belongs to: it decides the error body format and auth rules. */
export type Service = 'identity' | 'compute' | 'image' | 'network';

export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
  requestId: string;
  /** The base URL clients reach this API on (for links and the catalog). */
  baseUrl: string;
  /** Set for every route that is not `public`. */
  auth: TokenContext;
  /** Set for compute routes. */
  microversion: Microversion;
}

export interface ApiResponse {
  status: number;
  /** Serialised as JSON unless it is a Buffer. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path template with `{name}` parameters, e.g. `/compute/v2.1/servers/{server_id}`. */
  path: string;
  service: Service;
  /** No token needed (version documents, token issue). */
  public?: boolean;
  handler: (req: ApiRequest) => Promise<ApiResponse>;
}
