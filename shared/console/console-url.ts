import type { ConsoleProtocol } from './console-token.js';

/**
 * The URL a client opens, on the console address of the host that runs the instance (Nova's
 * access_url). noVNC: the page, with the websocket path in `path` (noVNC 1.1 and later read only
 * `path`; the page opens `wss://<its own host>/<path>`). Serial: the websocket itself.
 */
export function consoleAccessUrl(baseUrl: string, protocol: ConsoleProtocol, token: string): string {
  const base = new URL(baseUrl);
  base.search = '';
  base.hash = '';
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  if (protocol === 'vnc') return `${new URL('vnc_lite.html', base)}?path=${encodeURIComponent(`?token=${token}`)}`;
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${base}?token=${token}`;
}

/** The port a console address listens on (its scheme's default when none is written). */
export function consolePort(baseUrl: string): number {
  const url = new URL(baseUrl);
  return url.port ? Number(url.port) : url.protocol === 'https:' || url.protocol === 'wss:' ? 443 : 80;
}
