import type { ApiError } from '../../../shared/errors.js';

/**
 * An image API error as glance sends it. Glance raises webob's HTTP exceptions, and webob picks
 * the body by the request's Accept header: HTML when `text/html` is acceptable at least as much as
 * JSON (so for `*\/*`, what glanceclient and curl send), JSON for `application/json` (tempest,
 * openstacksdk), plain text when the header is absent or accepts neither. glanceclient parses a
 * JSON error body as an object of objects, so a flat JSON body would break it: the HTML it gets is
 * what it expects.
 */
export interface GlanceErrorResponse {
  contentType: string;
  body: string;
}

const OFFERS = ['text/html', 'application/json'] as const;
type Offer = (typeof OFFERS)[number];

interface AcceptRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(header: string): AcceptRange[] | undefined {
  const ranges: AcceptRange[] = [];
  for (const part of header.split(',')) {
    const [range, ...params] = part.trim().split(';').map((s) => s.trim());
    if (!range) continue;
    const m = /^([\w.+*-]+)\/([\w.+*-]+)$/.exec(range);
    if (!m) return undefined;
    let q = 1;
    for (const param of params) {
      const qm = /^q=([01](?:\.\d{0,3})?)$/i.exec(param);
      if (qm) q = Number(qm[1]);
    }
    ranges.push({ type: m[1].toLowerCase(), subtype: m[2].toLowerCase(), q });
  }
  return ranges;
}

/** The q of the most specific range matching the offer (type/subtype, then type/*, then *\/*), or 0. */
function qualityOf(offer: Offer, ranges: AcceptRange[]): number {
  const [type, subtype] = offer.split('/');
  const specificity = (r: AcceptRange) =>
    r.type === type && r.subtype === subtype ? 3 : r.type === type && r.subtype === '*' ? 2 : r.type === '*' && r.subtype === '*' ? 1 : 0;
  let best: { specificity: number; q: number } = { specificity: 0, q: 0 };
  for (const r of ranges) {
    const s = specificity(r);
    if (s > best.specificity) best = { specificity: s, q: r.q };
  }
  return best.q;
}

/** webob's choice: the acceptable offer of highest q, text/html first on a tie; none for no header. */
function negotiate(accept: string | undefined): Offer | undefined {
  if (accept === undefined || accept.trim() === '') return undefined;
  const ranges = parseAccept(accept);
  // An Accept header webob cannot parse counts as accepting anything.
  if (!ranges) return 'text/html';
  let chosen: { offer: Offer; q: number } | undefined;
  for (const offer of OFFERS) {
    const q = qualityOf(offer, ranges);
    if (q > 0 && (!chosen || q > chosen.q)) chosen = { offer, q };
  }
  return chosen?.offer;
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');

/** webob's three bodies for an exception raised with `explanation=message`. */
export function glanceErrorResponse(err: ApiError, accept: string | undefined): GlanceErrorResponse {
  const status = `${err.status} ${err.title}`;
  switch (negotiate(accept)) {
    case 'text/html':
      return {
        contentType: 'text/html; charset=UTF-8',
        body: `<html>\n <head>\n  <title>${status}</title>\n </head>\n <body>\n  <h1>${status}</h1>\n  ${escapeHtml(err.message)}<br /><br />\n\n\n\n </body>\n</html>`,
      };
    case 'application/json':
      return {
        contentType: 'application/json',
        body: JSON.stringify({ message: `${err.message}<br /><br />\n\n\n`, code: status, title: err.title }),
      };
    default:
      return { contentType: 'text/plain; charset=UTF-8', body: `${status}\n\n${err.message.replace(/<[^>]*>/g, '')}\n\n   ` };
  }
}
