import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../app/context.ts';
import { clientAddress } from '../http/client-address.ts';
import { getSettings } from '../settings/settings.service.ts';
import { findLinksByIssue } from '../issues/issues.repository.ts';
import type { IssueLinkKind } from '../db/schema.ts';
import { trackingTokens, type TrackingTokens } from './tokens.ts';
import { agentFacts, classifyClick, classifyOpen, ClickBursts, isAppleAddress } from './classify.ts';
import { findDeliveriesByIds, findLinkIssueId, type TrackedDelivery } from './tracking.repository.ts';
import { makeAttributionCookie } from './attribution.ts';

/**
 * The fast path for /t/… served by the server entry before Astro:
 *   /t/o/<token>  the open pixel: always 200 with a 43-byte GIF and no-store, whatever happens
 *                 behind it; a live, valid token stores one classified `opens` row first.
 *   /t/c/<token>  a click: 302 to the link registered for the delivery's issue (nothing in the
 *                 request names a target), with the attribution cookie; anything else → 404 page.
 * HEAD is answered and never recorded; test and preview tokens record nothing.
 * Deliveries and links come from in-memory caches (misses batched into one query).
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
const CACHE_MS = 60_000;
const CACHE_MAX = 100_000;

interface CachedLink {
  issueId: number;
  url: string;
  kind: IssueLinkKind;
}

/** Deliveries by id, with misses collected for one event-loop turn and loaded in one query. */
class DeliveryCache {
  readonly #app: AppContext;
  readonly #known = new Map<number, { delivery: TrackedDelivery; until: number }>();
  #waiting: Map<number, { resolve: (d: TrackedDelivery | undefined) => void; reject: (e: unknown) => void }[]> | undefined;

  constructor(app: AppContext) {
    this.#app = app;
  }

  get(id: number, now: number): TrackedDelivery | Promise<TrackedDelivery | undefined> {
    const hit = this.#known.get(id);
    if (hit && hit.until > now) return hit.delivery;
    return new Promise((resolve, reject) => {
      if (!this.#waiting) {
        this.#waiting = new Map();
        setImmediate(() => void this.#load());
      }
      const list = this.#waiting.get(id);
      if (list) list.push({ resolve, reject });
      else this.#waiting.set(id, [{ resolve, reject }]);
    });
  }

  async #load(): Promise<void> {
    const waiting = this.#waiting!;
    this.#waiting = undefined;
    try {
      const found = new Map((await findDeliveriesByIds(this.#app.db, [...waiting.keys()])).map((d) => [d.id, d]));
      if (this.#known.size + found.size > CACHE_MAX) this.#known.clear();
      const until = Date.now() + CACHE_MS;
      for (const [id, callers] of waiting) {
        const delivery = found.get(id);
        // One not marked sent yet is not kept: its send time is still to come.
        if (delivery && delivery.sentAt !== null) this.#known.set(id, { delivery, until });
        for (const c of callers) c.resolve(delivery);
      }
    } catch (error) {
      for (const callers of waiting.values()) for (const c of callers) c.reject(error);
    }
  }
}

/** Registered links by id, loaded a whole issue at a time. */
class LinkCache {
  readonly #app: AppContext;
  readonly #known = new Map<number, CachedLink & { until: number }>();
  readonly #loading = new Map<number, Promise<CachedLink | undefined>>();

  constructor(app: AppContext) {
    this.#app = app;
  }

  get(linkId: number, now: number): CachedLink | undefined | Promise<CachedLink | undefined> {
    const hit = this.#known.get(linkId);
    if (hit && hit.until > now) return hit;
    let loading = this.#loading.get(linkId);
    if (!loading) {
      loading = this.#load(linkId).finally(() => this.#loading.delete(linkId));
      this.#loading.set(linkId, loading);
    }
    return loading;
  }

  async #load(linkId: number): Promise<CachedLink | undefined> {
    const issueId = await findLinkIssueId(this.#app.db, linkId);
    if (issueId === undefined) return undefined;
    const rows = await findLinksByIssue(this.#app.db, issueId);
    if (this.#known.size + rows.length > CACHE_MAX) this.#known.clear();
    const until = Date.now() + CACHE_MS;
    for (const r of rows) this.#known.set(Number(r.id), { issueId, url: r.url, kind: r.kind, until });
    return this.#known.get(linkId);
  }
}

interface TrackingState {
  tokens: TrackingTokens;
  deliveries: DeliveryCache;
  links: LinkCache;
  bursts: ClickBursts;
  secure: boolean;
}

const states = new WeakMap<AppContext, TrackingState>();

function stateOf(app: AppContext): TrackingState {
  let state = states.get(app);
  if (!state) {
    state = {
      tokens: trackingTokens(app.secret),
      deliveries: new DeliveryCache(app),
      links: new LinkCache(app),
      bursts: new ClickBursts(),
      secure: app.config.siteUrl.startsWith('https:'),
    };
    states.set(app, state);
  }
  return state;
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
      await recordOpen(req, app, url);
    } catch (error) {
      console.error('[tracking] open not recorded:', error instanceof Error ? error.message : error);
    }
  }
  res.writeHead(200, PIXEL_HEADERS);
  res.end(req.method === 'HEAD' ? undefined : PIXEL);
}

async function recordOpen(req: IncomingMessage, app: AppContext, url: string, now = Date.now()): Promise<void> {
  const state = stateOf(app);
  const token = state.tokens.readOpen(tokenOf(url, 5));
  if (!token || token.test) return;
  const settings = await getSettings(app.db, { now });
  if (!settings.openTracking) return;
  const found = state.deliveries.get(token.deliveryId, now);
  const delivery = found instanceof Promise ? await found : found;
  if (!delivery) return;
  const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], app.config.trustProxy);
  const verdict = classifyOpen(
    { agent: agentFacts(req.headers['user-agent'] ?? ''), appleAddress: isAppleAddress(ip), at: now, sentAt: delivery.sentAt, scannedDelivery: state.bursts.wasScanned(delivery.id) },
    settings,
  );
  await app.writer.write('open', {
    issue_id: delivery.issueId,
    delivery_id: delivery.id,
    subscriber_id: settings.personTracking ? delivery.subscriberId : null,
    at: now,
    class: verdict.class,
    reason: verdict.reason,
  });
}

function notFound(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, NOT_FOUND_HEADERS);
  res.end(req.method === 'HEAD' ? undefined : NOT_FOUND_HTML);
}

async function handleClick(req: IncomingMessage, res: ServerResponse, app: AppContext, url: string): Promise<void> {
  const now = Date.now();
  const state = stateOf(app);
  const token = state.tokens.readClick(tokenOf(url, 5));
  if (!token) return notFound(req, res);
  let link: CachedLink | undefined;
  let delivery: TrackedDelivery | undefined;
  try {
    const l = state.links.get(token.linkId, now);
    link = l instanceof Promise ? await l : l;
    if (link && !token.test) {
      const d = state.deliveries.get(token.deliveryId, now);
      delivery = d instanceof Promise ? await d : d;
    }
  } catch (error) {
    console.error('[tracking] click lookup failed:', error instanceof Error ? error.message : error);
    res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'retry-after': '5' });
    res.end(req.method === 'HEAD' ? undefined : UNAVAILABLE);
    return;
  }
  // The link must be one registered for the delivery's own issue.
  if (!link || (!token.test && (!delivery || delivery.issueId !== link.issueId))) return notFound(req, res);
  const headers: Record<string, string | string[]> = { location: link.url, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer-when-downgrade' };
  if (req.method === 'GET' && delivery) {
    try {
      const cookie = await recordClick(req, app, state, delivery, token.linkId, link, now);
      if (cookie) headers['set-cookie'] = cookie;
    } catch (error) {
      console.error('[tracking] click not recorded:', error instanceof Error ? error.message : error);
    }
  }
  res.writeHead(302, headers);
  res.end();
}

/** Stores the click (after its commit) and answers the attribution cookie to set, if any. */
async function recordClick(req: IncomingMessage, app: AppContext, state: TrackingState, delivery: TrackedDelivery, linkId: number, link: CachedLink, now: number): Promise<string | undefined> {
  const settings = await getSettings(app.db, { now });
  if (!settings.clickTracking) return undefined;
  const burst = state.bursts.record(delivery.id, linkId, now, settings.clickBurstSeconds * 1000);
  const verdict = classifyClick({ agent: agentFacts(req.headers['user-agent'] ?? ''), honeypot: link.kind === 'honeypot', at: now, sentAt: delivery.sentAt, burstLinks: burst.links }, settings);
  // A burst or an instant click is a scanner: re-label its earlier clicks and the opens just before.
  const scanner = verdict.class === 'bot' && link.kind !== 'honeypot' && !verdict.reason.startsWith('known');
  if (scanner) state.bursts.markScanned(delivery.id, now);
  const subscriberId = settings.personTracking ? delivery.subscriberId : null;
  await app.writer.write('click', {
    issue_id: delivery.issueId,
    link_id: linkId,
    delivery_id: delivery.id,
    subscriber_id: subscriberId,
    at: now,
    class: verdict.class,
    reason: verdict.reason,
    ...(scanner ? { sweep: { clicksSince: burst.since, opensUntil: delivery.sentAt === null ? null : delivery.sentAt + settings.scannerOpenSeconds * 1000 } } : {}),
  });
  if (verdict.class !== 'human') return undefined;
  return makeAttributionCookie(app.secret, { issueId: delivery.issueId, deliveryId: delivery.id, subscriberId, at: now }, settings.attributionWindowDays, state.secure);
}
