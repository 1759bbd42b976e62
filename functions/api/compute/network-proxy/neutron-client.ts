import { ApiError } from '../../../../shared/errors.js';
import { Router } from '../../http/router.js';
import type { ApiRequest } from '../../http/types.js';
import { networkRoutes } from '../../network/routes.js';

const neutronRouter = new Router(networkRoutes);

/** Nova's fault names by status (nova/api/openstack/wsgi.py Fault), for a Neutron error the proxy passes on as it is. */
const NOVA_FAULTS: Record<number, string> = { 400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound', 405: 'badMethod', 409: 'conflictingRequest', 413: 'overLimit', 415: 'badMediaType', 501: 'notImplemented', 503: 'serviceUnavailable' };

/**
 * What Neutron answered with an error status, as neutronclient raises it: its status, the Neutron
 * exception's class name (`type`) and message. One the proxy does not map keeps its status.
 */
export class NeutronClientError extends ApiError {
  constructor(
    status: number,
    readonly type: string,
    message: string,
  ) {
    super(status, NOVA_FAULTS[status] ?? 'computeFault', type, message);
  }
}

type Query = Record<string, string | string[] | boolean | undefined>;

function searchParams(query: Query = {}): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.append(key, String(v));
  }
  return out;
}

/**
 * Nova's neutronclient, in process: each call runs this cloud's Network API handler for the path
 * with the compute request's own token (so Neutron's policy, quotas, default-group creation and
 * data-plane syncs all apply), and a Neutron error comes back as a NeutronClientError for the
 * proxy to map to Nova's answer, as nova/network/security_group_api.py and neutron.py do.
 */
export class NeutronClient {
  constructor(private readonly req: ApiRequest) {}

  async call<T = any>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, o: { query?: Query; body?: unknown } = {}): Promise<T> {
    const fullPath = `/networking/v2.0${path}`;
    const { route, params } = neutronRouter.match(method, fullPath);
    const derived: ApiRequest = {
      ...this.req,
      method,
      path: fullPath,
      params,
      query: searchParams(o.query),
      headers: { ...this.req.headers, 'content-type': 'application/json' },
      body: Buffer.from(o.body === undefined ? '' : JSON.stringify(o.body)),
    };
    try {
      const response = await route.handler(derived);
      return response.body as T;
    } catch (err) {
      if (err instanceof ApiError) throw new NeutronClientError(err.status, err.name, err.message);
      throw err;
    }
  }

  get = <T = any>(path: string, query?: Query) => this.call<T>('GET', path, { query });
  post = <T = any>(path: string, body: unknown) => this.call<T>('POST', path, { body });
  put = <T = any>(path: string, body: unknown) => this.call<T>('PUT', path, { body });
  delete = (path: string) => this.call('DELETE', path);
}

export const neutronClient = (req: ApiRequest) => new NeutronClient(req);

/** Runs `call`, turning Neutron's error of status `status` into what `map` returns (others pass on). */
export async function onNeutronStatus<T>(call: Promise<T>, handlers: Partial<Record<number, (e: NeutronClientError) => Error>>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof NeutronClientError && handlers[err.status]) throw handlers[err.status]!(err);
    throw err;
  }
}
