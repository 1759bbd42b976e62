import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** noVNC's package root (its `exports` name only core/rfb.js): its core/ and vendor/ are served as they are. */
const NOVNC_DIR = dirname(dirname(fileURLToPath(import.meta.resolve('@novnc/novnc'))));
const PAGES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'pages');

/** The only pages served, by path; Nova's vnc_auto.html is an alias of vnc_lite.html. */
const PAGES: Record<string, string> = {
  '/vnc_lite.html': 'vnc_lite.html',
  '/vnc_auto.html': 'vnc_lite.html',
  '/vnc_lite.js': 'vnc_lite.js',
  '/console.css': 'console.css',
};

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

/**
 * The files a browser needs for noVNC, from fixed routes only: no directory listing, no
 * redirect (Nova's open redirect, CVE-2021-3654, came from one), nothing outside noVNC's
 * core/ and vendor/ and our pages. A path with `//`, `..`, a backslash or a percent sign is a 400.
 */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, connectSrc: string): Promise<void> {
  const rawPath = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
  if (rawPath.startsWith('//') || rawPath.includes('..') || rawPath.includes('\\') || rawPath.includes('%')) return reply(res, 400, 'bad path');
  let file: string | undefined;
  if (PAGES[rawPath]) file = join(PAGES_DIR, PAGES[rawPath]);
  else if (/^\/novnc\/(core|vendor)\/[A-Za-z0-9_./-]+\.js$/.test(rawPath)) file = join(NOVNC_DIR, rawPath.slice('/novnc/'.length));
  if (!file) return reply(res, 404, 'not found');
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    return reply(res, 404, 'not found');
  }
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Content-Security-Policy': `default-src 'self'; connect-src 'self' ${connectSrc}; img-src 'self' data:; frame-ancestors 'none'`,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}
