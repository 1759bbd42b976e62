import { MethodNotAllowed, NotFound } from '../../../shared/errors.js';
import type { Route } from './types.js';

/** A path segment as the client meant it (paths arrive still percent-encoded); a malformed escape names nothing: 404. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new NotFound('The resource could not be found.');
  }
}

interface Compiled {
  route: Route;
  pattern: RegExp;
  names: string[];
}

/** Matches a method and path against route templates such as `/compute/v2.1/servers/{server_id}`. */
export class Router {
  private readonly compiled: Compiled[];

  constructor(routes: Route[]) {
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const source = route.path
        .replace(/\/+$/, '')
        .split('/')
        .map((part) => {
          const m = /^\{(\w+)\}$/.exec(part);
          if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(m[1]);
          return '([^/]+)';
        })
        .join('/');
      // Nova's routes (the `routes` library) match a resource's path exactly: `/servers/` or
      // `/os-simple-tenant-usage/` (an empty id) is a 404; its version documents and the other
      // services take one trailing slash.
      const trailingSlash = route.service === 'compute' && !route.public ? '' : '/?';
      return { route, names, pattern: new RegExp(`^${source}${trailingSlash}$`) };
    });
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    let pathMatched = false;
    for (const c of this.compiled) {
      const m = c.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (c.route.method !== method && !(method === 'HEAD' && c.route.method === 'GET')) continue;
      return { route: c.route, params: Object.fromEntries(c.names.map((n, i) => [n, decodeSegment(m[i + 1])])) };
    }
    if (pathMatched) throw new MethodNotAllowed();
    throw new NotFound('The resource could not be found.');
  }

  /** The service a path belongs to, for formatting errors before a route is found. */
  static serviceOf(path: string): Route['service'] {
    if (path.startsWith('/identity')) return 'identity';
    if (path.startsWith('/image')) return 'image';
    if (path.startsWith('/networking')) return 'network';
    return 'compute';
  }
}
