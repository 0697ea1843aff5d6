import type { AppContext } from '../app/context.ts';
import { getSettings, peekSettings } from '../settings/settings.service.ts';
import type { Settings } from '../settings/settings.ts';
import { findLinksByIssue } from '../issues/issues.repository.ts';
import type { IssueLinkKind } from '../db/schema.ts';
import { agentFacts, classifyClick, classifyOpen, ClickBursts, isAppleAddress } from './classify.ts';
import { sqliteHandle } from '../db/database.ts';
import { findDeliveriesByIds, findDeliveryByIdSqlite, findLinkIssueId, type TrackedDelivery } from './tracking.repository.ts';
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

/**
 * Deliveries by id. A miss is read at once on SQLite; on PostgreSQL (or while a Kysely
 * transaction is open on the SQLite connection) misses are collected for one event-loop turn
 * and loaded in one query.
 */
class DeliveryCache {
  readonly #app: TrackingApp;
  readonly #known = new Map<number, { delivery: TrackedDelivery; until: number }>();
  #waiting: Map<number, { resolve: (d: TrackedDelivery | undefined) => void; reject: (e: unknown) => void }[]> | undefined;

  constructor(app: TrackingApp) {
    this.#app = app;
  }

  get(id: number, now: number): TrackedDelivery | undefined | Promise<TrackedDelivery | undefined> {
    const hit = this.#known.get(id);
    if (hit && hit.until > now) return hit.delivery;
    // SQLite answers a miss at once, unless a Kysely transaction is open on the connection (its
    // uncommitted rows must not be cached): then it waits for the batched query like PostgreSQL.
    const sqlite = sqliteHandle(this.#app.db);
    if (sqlite && !sqlite.inTransaction) {
      const delivery = findDeliveryByIdSqlite(sqlite, id);
      if (delivery) this.#remember(delivery, now);
      return delivery;
    }
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
      const now = Date.now();
      for (const [id, callers] of waiting) {
        const delivery = found.get(id);
        if (delivery) this.#remember(delivery, now);
        for (const c of callers) c.resolve(delivery);
      }
    } catch (error) {
      for (const callers of waiting.values()) for (const c of callers) c.reject(error);
    }
  }

  #remember(delivery: TrackedDelivery, now: number): void {
    // One not marked sent yet is not kept: its send time is still to come.
    if (delivery.sentAt === null) return;
    if (this.#known.size >= CACHE_MAX) this.#known.clear();
    this.#known.set(delivery.id, { delivery, until: now + CACHE_MS });
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

/** The settings without waiting once they are cached (the first call of a process reads them). */
function settingsNow(app: TrackingApp, now: number): Readonly<Settings> | Promise<Readonly<Settings>> {
  return peekSettings(app.db, now) ?? getSettings(app.db, { now });
}

/** One pixel load of a live delivery: who loaded it (the user agent as sent, the client's address). */
export interface OpenHit {
  deliveryId: number;
  userAgent: string;
  ip: string;
}

/**
 * Classifies and stores one open: a promise that settles after its commit, or undefined when
 * nothing is stored (open tracking off, unknown delivery). Answers synchronously on the hot
 * path (settings and delivery cached, or read from SQLite at once) so a pixel waits only for
 * its commit.
 */
export function recordOpen(app: TrackingApp, hit: OpenHit, now = Date.now()): Promise<void> | undefined {
  const settings = settingsNow(app, now);
  if (settings instanceof Promise) return settings.then(() => recordOpen(app, hit, now));
  if (!settings.openTracking) return undefined;
  const state = stateOf(app);
  const delivery = state.deliveries.get(hit.deliveryId, now);
  if (delivery instanceof Promise) return delivery.then((found) => (found ? storeOpen(app, state, settings, found, hit, now) : undefined));
  return delivery && storeOpen(app, state, settings, delivery, hit, now);
}

function storeOpen(app: TrackingApp, state: TrackingState, settings: Readonly<Settings>, delivery: TrackedDelivery, hit: OpenHit, now: number): Promise<void> {
  const verdict = classifyOpen(
    { agent: agentFacts(hit.userAgent), appleAddress: isAppleAddress(hit.ip), at: now, sentAt: delivery.sentAt, scannedDelivery: state.bursts.wasScanned(delivery.id) },
    settings,
  );
  return app.writer.write('open', {
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
export function findClickTarget(app: TrackingApp, token: { deliveryId: number; linkId: number; test: boolean }, now = Date.now()): ClickTarget | undefined | Promise<ClickTarget | undefined> {
  const state = stateOf(app);
  const link = state.links.get(token.linkId, now);
  if (link instanceof Promise) return link.then((found) => found && targetOf(state, token, found, now));
  return link && targetOf(state, token, link, now);
}

function targetOf(state: TrackingState, token: { deliveryId: number; linkId: number; test: boolean }, link: TrackedLink, now: number): ClickTarget | undefined | Promise<ClickTarget | undefined> {
  if (token.test) return { linkId: token.linkId, link, delivery: undefined };
  const delivery = state.deliveries.get(token.deliveryId, now);
  const target = (found: TrackedDelivery | undefined) => (found && found.issueId === link.issueId ? { linkId: token.linkId, link, delivery: found } : undefined);
  return delivery instanceof Promise ? delivery.then(target) : target(delivery);
}

/**
 * Classifies and stores one click on a live delivery's link (resolves after its commit) and
 * answers the Set-Cookie value of the attribution cookie for a reader's click.
 */
export async function recordClickOn(app: TrackingApp, target: ClickTarget & { delivery: TrackedDelivery }, userAgent: string, now = Date.now()): Promise<string | undefined> {
  const cached = settingsNow(app, now);
  const settings = cached instanceof Promise ? await cached : cached;
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
