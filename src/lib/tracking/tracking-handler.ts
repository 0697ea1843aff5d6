import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../app/context.ts';
import { clientAddress } from '../http/client-address.ts';
import { allRawHeaders, firstRawHeader } from '../http/raw-headers.ts';
import { trackingTokens, type TrackingTokens } from './tokens.ts';
import { findClickLink, isDeliveryLink, recordClickOn, recordOpen, type TrackedLink } from './tracking.service.ts';

/**
 * The fast path for /t/… served by the server entry before Astro:
 *   /t/o/<token>  the open pixel: always 200 with a 43-byte GIF and no-store, whatever happens
 *                 behind it; a live, valid token stores one classified `opens` row first.
 *   /t/c/<token>  a click: 302 to the link registered for the delivery's issue (nothing in the
 *                 request names a target), with the attribution cookie; anything else → 404 page.
 * HEAD is answered and never recorded; test and preview tokens record nothing.
 * Looking up, classifying and storing is tracking.service.ts.
 */
export const PIXEL = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
const PIXEL_HEADERS = {
  'content-type': 'image/gif',
  'content-length': String(PIXEL.length),
  'cache-control': 'no-store, max-age=0',
  'x-content-type-options': 'nosniff',
};
const NOT_FOUND_HTML = Buffer.from(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>Link not found</title>
<style>body{font:1.05rem/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1d2433}a{color:#1f5fbf}</style></head>
<body><h1>This link doesn’t lead anywhere</h1>
<p>The link may have been shortened or changed on its way to you. The newsletter’s pages are still here.</p>
<p><a href="/">Go to the home page</a></p></body></html>
`);
const NOT_FOUND_HEADERS = { 'content-type': 'text/html; charset=utf-8', 'content-length': String(NOT_FOUND_HTML.length), 'cache-control': 'no-store' };
const UNAVAILABLE = Buffer.from('<!doctype html><html lang="en"><meta charset="utf-8"><title>Try again</title><p>We could not open this link just now. Please try again in a moment, or <a href="/">go to the home page</a>.</p></html>\n');
const MAX_TOKEN = 64;

const tokensByApp = new WeakMap<AppContext, TrackingTokens>();

function tokensOf(app: AppContext): TrackingTokens {
  let tokens = tokensByApp.get(app);
  if (!tokens) tokensByApp.set(app, (tokens = trackingTokens(app.secret)));
  return tokens;
}

/** The token: the last path segment, without a query string; undefined when it cannot be one. */
function tokenOf(url: string, prefixLength: number): string | undefined {
  const end = url.indexOf('?');
  const token = end < 0 ? url.slice(prefixLength) : url.slice(prefixLength, end);
  return token.length === 0 || token.length > MAX_TOKEN ? undefined : token;
}

export async function handleTrackingRequest(req: IncomingMessage, res: ServerResponse, app: AppContext): Promise<void> {
  const url = req.url ?? '';
  if (url.startsWith('/t/o/')) return handleOpen(req, res, app, url);
  if (url.startsWith('/t/c/')) return handleClick(req, res, app, url);
  res.writeHead(404, NOT_FOUND_HEADERS);
  res.end(req.method === 'HEAD' ? undefined : NOT_FOUND_HTML);
}

async function handleOpen(req: IncomingMessage, res: ServerResponse, app: AppContext, url: string): Promise<void> {
  if (req.method === 'GET') {
    try {
      const stored = recordOpenRequest(req, app, url);
      if (stored) await stored;
    } catch (error) {
      console.error('[tracking] open not recorded:', error instanceof Error ? error.message : error);
    }
  }
  res.writeHead(200, PIXEL_HEADERS);
  res.end(req.method === 'HEAD' ? undefined : PIXEL);
}

/** Settles after the open's commit; undefined when nothing is recorded. */
function recordOpenRequest(req: IncomingMessage, app: AppContext, url: string, now = Date.now()): Promise<unknown> | undefined {
  const token = tokensOf(app).readOpen(tokenOf(url, 5));
  if (!token || token.test) return undefined;
  // Headers from rawHeaders: building req.headers costs a few microseconds a request.
  const forwardedFor = app.config.trustProxy.kind === 'none' ? undefined : allRawHeaders(req.rawHeaders, 'x-forwarded-for');
  const ip = clientAddress(req.socket.remoteAddress, forwardedFor, app.config.trustProxy);
  return recordOpen(app, { deliveryId: token.deliveryId, userAgent: firstRawHeader(req.rawHeaders, 'user-agent') ?? '', ip }, now);
}

function notFound(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, NOT_FOUND_HEADERS);
  res.end(req.method === 'HEAD' ? undefined : NOT_FOUND_HTML);
}

function unavailable(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'retry-after': '5' });
  res.end(req.method === 'HEAD' ? undefined : UNAVAILABLE);
}

async function handleClick(req: IncomingMessage, res: ServerResponse, app: AppContext, url: string): Promise<void> {
  const now = Date.now();
  const token = tokensOf(app).readClick(tokenOf(url, 5));
  if (!token) return notFound(req, res);
  let link: TrackedLink | undefined;
  try {
    const found = findClickLink(app, token.linkId, now);
    link = found instanceof Promise ? await found : found;
    // What records nothing (a test message, HEAD) still must be the delivery's own link.
    if (link && !token.test && req.method !== 'GET' && !(await isDeliveryLink(app, token.deliveryId, link))) link = undefined;
  } catch (error) {
    console.error('[tracking] click lookup failed:', error instanceof Error ? error.message : error);
    return unavailable(req, res);
  }
  if (!link) return notFound(req, res);
  const headers: Record<string, string | string[]> = { location: link.url, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer-when-downgrade' };
  if (req.method === 'GET' && !token.test) {
    try {
      const clicked = await recordClickOn(app, { deliveryId: token.deliveryId, linkId: token.linkId, link, userAgent: firstRawHeader(req.rawHeaders, 'user-agent') ?? '' }, now);
      if (!clicked) return notFound(req, res);
      if (clicked.setCookie) headers['set-cookie'] = clicked.setCookie;
    } catch (error) {
      // The token is ours and the link registered: the reader still gets where they were going.
      console.error('[tracking] click not recorded:', error instanceof Error ? error.message : error);
    }
  }
  res.writeHead(302, headers);
  res.end();
}
