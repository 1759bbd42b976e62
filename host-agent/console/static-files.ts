import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { agentFiles } from '../agent-files.js';

const { consolePages: PAGES_DIR, novnc: NOVNC_DIR, xterm: XTERM_DIR } = agentFiles();

/**
 * The only files served, by path. Nova's vnc_auto.html is an alias of vnc_lite.html; `/` is the
 * serial page, so a serial URL (wss://host/?token=...) opens in a browser as https://host/?token=...
 */
const FILES: Record<string, string> = {
  '/vnc_lite.html': join(PAGES_DIR, 'vnc_lite.html'),
  '/vnc_auto.html': join(PAGES_DIR, 'vnc_lite.html'),
  '/vnc_lite.js': join(PAGES_DIR, 'vnc_lite.js'),
  '/console.css': join(PAGES_DIR, 'console.css'),
  '/': join(PAGES_DIR, 'serial.html'),
  '/serial.html': join(PAGES_DIR, 'serial.html'),
  '/serial.js': join(PAGES_DIR, 'serial.js'),
  '/xterm/xterm.mjs': join(XTERM_DIR, 'lib', 'xterm.mjs'),
  '/xterm/xterm.css': join(XTERM_DIR, 'css', 'xterm.css'),
};

/** xterm.js sizes and colours its rows with <style> elements it writes at run time. */
const INLINE_STYLES = new Set([join(PAGES_DIR, 'serial.html')]);

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

/**
 * The files a browser needs for noVNC and the serial page, from fixed routes only: no directory
 * listing, no redirect (Nova's open redirect, CVE-2021-3654, came from one), nothing outside
 * noVNC's core/ and vendor/, xterm.js's two files and our pages. A path with `//`, `..`, a
 * backslash or a percent sign is a 400.
 */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, connectSrc: string): Promise<void> {
  const rawPath = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
  if (rawPath.startsWith('//') || rawPath.includes('..') || rawPath.includes('\\') || rawPath.includes('%')) return reply(res, 400, 'bad path');
  let file: string | undefined;
  if (Object.hasOwn(FILES, rawPath)) file = FILES[rawPath];
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
    'Content-Security-Policy': `default-src 'self'; connect-src 'self' ${connectSrc}; img-src 'self' data:; ${INLINE_STYLES.has(file) ? "style-src 'self' 'unsafe-inline'; " : ''}frame-ancestors 'none'`,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}
