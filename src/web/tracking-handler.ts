import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../lib/app/context.ts';
import { clientAddress } from './http/client-address.ts';
import { allRawHeaders, firstRawHeader } from './http/raw-headers.ts';
import { trackingTokens, type ClickToken, type TrackingTokens } from '../lib/tracking/tokens.ts';
import {
  findClickLink,
  recordClickOn,
  recordLinkCheck,
  recordOpen,
  type TrackedLink,
} from '../lib/tracking/tracking.service.ts';
import { answerTestClick } from './test-click.ts';

/**
 * The fast path for /t/… served by the server entry before Astro:
 *   /t/o/<token>  the open pixel: always 200 with a 43-byte GIF and no-store, whatever happens
 *                 behind it; a live, valid token stores one classified `opens` row first.
 *   /t/c/<token>  a click: 302 to the link registered for the delivery's issue (nothing in the
 *                 request names a target), with the attribution cookie; anything else → 404 page.
 * HEAD is answered and never a click (a HEAD on a link is kept as a link check: a scanner's sign);
 * test and preview tokens record nothing.
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
const NOT_FOUND_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-length': String(NOT_FOUND_HTML.length),
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};
const UNAVAILABLE = Buffer.from(
  '<!doctype html><html lang="en"><meta charset="utf-8"><title>Try again</title><p>We could not open this link just now. Please try again in a moment, or <a href="/">go to the home page</a>.</p></html>\n',
);
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

/** Settles once answered; never rejects (a failure behind the answer is logged). */
export function handleTrackingRequest(
  req: IncomingMessage,
  res: ServerResponse,
  app: AppContext,
): Promise<void> | void {
  const url = req.url ?? '';
  if (url.startsWith('/t/o/')) return handleOpen(req, res, app, url);
  if (url.startsWith('/t/c/')) return handleClick(req, res, app, url);
  res.writeHead(404, NOT_FOUND_HEADERS);
  res.end(req.method === 'HEAD' ? undefined : NOT_FOUND_HTML);
}

function answerPixel(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, PIXEL_HEADERS);
  res.end(req.method === 'HEAD' ? undefined : PIXEL);
}

const openNotRecorded = (error: unknown) =>
  console.error('[tracking] open not recorded:', error instanceof Error ? error.message : error);

/** The pixel once its open is committed (no async function: a pixel is answered one promise hop after its commit). */
function handleOpen(req: IncomingMessage, res: ServerResponse, app: AppContext, url: string): Promise<void> | void {
  let stored: Promise<unknown> | undefined;
  if (req.method === 'GET') {
    try {
      stored = recordOpenRequest(req, app, url);
    } catch (error) {
      openNotRecorded(error);
    }
  }
  if (!stored) {
    answerPixel(req, res);
    return;
  }
  return stored.then(
    () => answerPixel(req, res),
    (error: unknown) => {
      openNotRecorded(error);
      answerPixel(req, res);
    },
  );
}

/** Settles after the open's commit; undefined when nothing is recorded. */
function recordOpenRequest(
  req: IncomingMessage,
  app: AppContext,
  url: string,
  now = Date.now(),
): Promise<unknown> | undefined {
  const token = tokensOf(app).readOpen(tokenOf(url, 5));
  if (!token || token.test) return undefined;
  return recordOpen(app, { deliveryId: token.deliveryId, userAgent: userAgentOf(req), ip: ipOf(req, app) }, now);
}

/** The client's address (behind a trusted proxy, from X-Forwarded-For). Headers from rawHeaders: req.headers is built on first use, at a cost a request (docs/performance.md). */
export function ipOf(req: IncomingMessage, app: AppContext): string {
  const forwardedFor =
    app.config.trustProxy.kind === 'none' ? undefined : allRawHeaders(req.rawHeaders, 'x-forwarded-for');
  return clientAddress(req.socket.remoteAddress, forwardedFor, app.config.trustProxy);
}

const userAgentOf = (req: IncomingMessage): string => firstRawHeader(req.rawHeaders, 'user-agent') ?? '';

function notFound(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, NOT_FOUND_HEADERS);
  res.end(req.method === 'HEAD' ? undefined : NOT_FOUND_HTML);
}

function unavailable(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(503, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'retry-after': '5',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : UNAVAILABLE);
}

const clickNotRecorded = (error: unknown) =>
  console.error('[tracking] click not recorded:', error instanceof Error ? error.message : error);

function lookupFailed(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  console.error('[tracking] click lookup failed:', error instanceof Error ? error.message : error);
  unavailable(req, res);
}

function redirect(res: ServerResponse, link: TrackedLink, setCookie: string[] | undefined): void {
  const headers: Record<string, string | string[]> = {
    location: link.url,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer-when-downgrade',
    'x-content-type-options': 'nosniff',
  };
  if (setCookie) headers['set-cookie'] = setCookie;
  res.writeHead(302, headers);
  res.end();
}

/** A click: its link (cached: no promise), then the redirect once the click is committed. */
function handleClick(req: IncomingMessage, res: ServerResponse, app: AppContext, url: string): Promise<void> | void {
  const now = Date.now();
  const token = tokensOf(app).readClick(tokenOf(url, 5));
  if (!token) {
    notFound(req, res);
    return;
  }
  let found: ReturnType<typeof findClickLink>;
  try {
    found = findClickLink(app, token.linkId, now);
  } catch (error) {
    lookupFailed(req, res, error);
    return;
  }
  if (found instanceof Promise)
    return found.then(
      (link) => answerClick(req, res, app, token, link, now),
      (error: unknown) => lookupFailed(req, res, error),
    );
  return answerClick(req, res, app, token, found, now);
}

function answerClick(
  req: IncomingMessage,
  res: ServerResponse,
  app: AppContext,
  token: ClickToken,
  link: TrackedLink | undefined,
  now: number,
): Promise<void> | void {
  if (!link) {
    notFound(req, res);
    return;
  }
  if (token.test)
    return answerTestClick(req, res, app, token, link, now).catch((error: unknown) => lookupFailed(req, res, error)); // records nothing
  const request = {
    deliveryId: token.deliveryId,
    linkId: token.linkId,
    link,
    userAgent: userAgentOf(req),
    ip: ipOf(req, app),
  };
  if (req.method !== 'GET') {
    // HEAD is no click (kept as a link check), and still must be the delivery's own link.
    return recordLinkCheck(app, request, now).then(
      (own) => (own ? redirect(res, link, undefined) : notFound(req, res)),
      (error: unknown) => lookupFailed(req, res, error),
    );
  }
  let clicked: ReturnType<typeof recordClickOn>;
  try {
    clicked = recordClickOn(app, request, now);
  } catch (error) {
    clickNotRecorded(error);
    redirect(res, link, undefined);
    return;
  }
  return clicked.then(
    (stored) => (stored ? redirect(res, link, stored.setCookie) : notFound(req, res)),
    (error: unknown) => {
      // The token is ours and the link registered: the reader still gets where they were going.
      clickNotRecorded(error);
      redirect(res, link, undefined);
    },
  );
}
