import type { AppContext } from '../app/context.ts';
import { getSettings } from '../settings/settings.service.ts';
import { findLinksByIssue } from '../issues/issues.repository.ts';
import type { IssueLinkKind } from '../db/schema.ts';
import { agentFacts, classifyClick, classifyOpen, ClickBursts, isAppleAddress } from './classify.ts';
import { findDeliveriesByIds, findLinkIssueId, type TrackedDelivery } from './tracking.repository.ts';
import { makeAttributionCookie } from './attribution.ts';

/**
 * Recording opens and clicks: the delivery and link look-ups (in-memory caches, misses batched
 * into one query), the classification and the event writer. The /t/ fast path calls these with
 * the request's facts; anything else that replays tracked hits (the demo) passes its own time.
 */
export type TrackingApp = Pick<AppContext, 'db' | 'secret' | 'config' | 'writer'>;

const CACHE_MS = 60_000;
const CACHE_MAX = 100_000;

export interface TrackedLink {
  issueId: number;
  url: string;
  kind: IssueLinkKind;
}

/** Deliveries by id, with misses collected for one event-loop turn and loaded in one query. */
class DeliveryCache {
  readonly #app: TrackingApp;
  readonly #known = new Map<number, { delivery: TrackedDelivery; until: number }>();
  #waiting: Map<number, { resolve: (d: TrackedDelivery | undefined) => void; reject: (e: unknown) => void }[]> | undefined;

  constructor(app: TrackingApp) {
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
  readonly #app: TrackingApp;
  readonly #known = new Map<number, TrackedLink & { until: number }>();
  readonly #loading = new Map<number, Promise<TrackedLink | undefined>>();

  constructor(app: TrackingApp) {
    this.#app = app;
  }

  get(linkId: number, now: number): TrackedLink | undefined | Promise<TrackedLink | undefined> {
    const hit = this.#known.get(linkId);
    if (hit && hit.until > now) return hit;
    let loading = this.#loading.get(linkId);
    if (!loading) {
      loading = this.#load(linkId).finally(() => this.#loading.delete(linkId));
      this.#loading.set(linkId, loading);
    }
    return loading;
  }

  async #load(linkId: number): Promise<TrackedLink | undefined> {
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
  deliveries: DeliveryCache;
  links: LinkCache;
  bursts: ClickBursts;
  secure: boolean;
}

const states = new WeakMap<TrackingApp, TrackingState>();

function stateOf(app: TrackingApp): TrackingState {
  let state = states.get(app);
  if (!state) {
    state = { deliveries: new DeliveryCache(app), links: new LinkCache(app), bursts: new ClickBursts(), secure: app.config.siteUrl.startsWith('https:') };
    states.set(app, state);
  }
  return state;
}

async function settled<T>(value: T | Promise<T>): Promise<T> {
  return value instanceof Promise ? await value : value;
}

/** One pixel load of a live delivery: who loaded it (the user agent as sent, the client's address). */
export interface OpenHit {
  deliveryId: number;
  userAgent: string;
  ip: string;
}

/** Classifies and stores one open (resolves after its commit); nothing when open tracking is off or the delivery is unknown. */
export async function recordOpen(app: TrackingApp, hit: OpenHit, now = Date.now()): Promise<void> {
  const settings = await getSettings(app.db, { now });
  if (!settings.openTracking) return;
  const state = stateOf(app);
  const delivery = await settled(state.deliveries.get(hit.deliveryId, now));
  if (!delivery) return;
  const verdict = classifyOpen(
    { agent: agentFacts(hit.userAgent), appleAddress: isAppleAddress(hit.ip), at: now, sentAt: delivery.sentAt, scannedDelivery: state.bursts.wasScanned(delivery.id) },
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

/** Where a click goes: the registered link, and the delivery it was clicked from (none for a test token). */
export interface ClickTarget {
  linkId: number;
  link: TrackedLink;
  delivery: TrackedDelivery | undefined;
}

/**
 * The link a click token names, if it is registered for the delivery's own issue; undefined
 * otherwise (the caller answers 404). Rejects when the database cannot be asked.
 */
export async function findClickTarget(app: TrackingApp, token: { deliveryId: number; linkId: number; test: boolean }, now = Date.now()): Promise<ClickTarget | undefined> {
  const state = stateOf(app);
  const link = await settled(state.links.get(token.linkId, now));
  if (!link) return undefined;
  if (token.test) return { linkId: token.linkId, link, delivery: undefined };
  const delivery = await settled(state.deliveries.get(token.deliveryId, now));
  if (!delivery || delivery.issueId !== link.issueId) return undefined;
  return { linkId: token.linkId, link, delivery };
}

/**
 * Classifies and stores one click on a live delivery's link (resolves after its commit) and
 * answers the Set-Cookie value of the attribution cookie for a reader's click.
 */
export async function recordClickOn(app: TrackingApp, target: ClickTarget & { delivery: TrackedDelivery }, userAgent: string, now = Date.now()): Promise<string | undefined> {
  const settings = await getSettings(app.db, { now });
  if (!settings.clickTracking) return undefined;
  const state = stateOf(app);
  const { delivery, link, linkId } = target;
  const burst = state.bursts.record(delivery.id, linkId, now, settings.clickBurstSeconds * 1000);
  const verdict = classifyClick({ agent: agentFacts(userAgent), honeypot: link.kind === 'honeypot', at: now, sentAt: delivery.sentAt, burstLinks: burst.links }, settings);
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

/** One click of a live delivery's link, looked up and stored: where it leads and the cookie a reader gets; undefined when the link is not the delivery's. */
export async function recordClick(app: TrackingApp, hit: { deliveryId: number; linkId: number; userAgent: string }, now = Date.now()): Promise<{ url: string; setCookie: string | undefined } | undefined> {
  const target = await findClickTarget(app, { ...hit, test: false }, now);
  if (!target?.delivery) return undefined;
  return { url: target.link.url, setCookie: await recordClickOn(app, { ...target, delivery: target.delivery }, hit.userAgent, now) };
}
