import type { AppContext } from '../app/context.ts';
import { getSettings, peekSettings } from '../settings/settings.service.ts';
import type { Settings } from '../settings/settings.ts';
import { findLinksByIssue } from '../issues/issues.repository.ts';
import type { IssueLinkKind, OpenClass } from '../db/schema.ts';
import { agentFacts, classifyClick, classifyOpen, ClickBursts, isAppleAddress } from './classify.ts';
import { findDeliveryById, findLinkIssueId, type StoredHit } from './tracking.repository.ts';
import { makeAttributionCookie } from './attribution.ts';

/**
 * Recording opens and clicks: the link look-up (an in-memory cache), the classification and
 * the event writer. A hit's delivery is read inside the writer's transaction, where the first
 * open or click needs its row anyway: the request facts go to the writer with the rule that
 * classifies them once the delivery's send time is known. The /t/ fast path calls these with
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
  links: LinkCache;
  bursts: ClickBursts;
  secure: boolean;
}

const states = new WeakMap<TrackingApp, TrackingState>();

function stateOf(app: TrackingApp): TrackingState {
  let state = states.get(app);
  if (!state) {
    state = { links: new LinkCache(app), bursts: new ClickBursts(), secure: app.config.siteUrl.startsWith('https:') };
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
 * Classifies and stores one open: a promise that settles after its commit with what was stored
 * (undefined for an unknown delivery), or undefined when open tracking is off. Nothing is
 * awaited before the writer when the settings are cached, so a pixel waits only for its commit.
 */
export function recordOpen(app: TrackingApp, hit: OpenHit, now = Date.now()): Promise<StoredHit<OpenClass> | undefined> | undefined {
  const settings = settingsNow(app, now);
  if (settings instanceof Promise) return settings.then(() => recordOpen(app, hit, now));
  if (!settings.openTracking) return undefined;
  const agent = agentFacts(hit.userAgent);
  const appleAddress = isAppleAddress(hit.ip);
  const scannedDelivery = stateOf(app).bursts.wasScanned(hit.deliveryId);
  return app.writer.write('open_hit', {
    deliveryId: hit.deliveryId,
    at: now,
    personTracking: settings.personTracking,
    classify: (delivery) => classifyOpen({ agent, appleAddress, at: now, scannedDelivery, sentAt: delivery.sentAt }, settings),
  });
}

/** A click token's link, if registered (synchronous when cached); rejects when the database cannot be asked. */
export function findClickLink(app: TrackingApp, linkId: number, now = Date.now()): TrackedLink | undefined | Promise<TrackedLink | undefined> {
  return stateOf(app).links.get(linkId, now);
}

/** Whether the delivery exists and the link is one of its issue's (for answers that record nothing, like HEAD). */
export async function isDeliveryLink(app: TrackingApp, deliveryId: number, link: TrackedLink): Promise<boolean> {
  return (await findDeliveryById(app.db, deliveryId))?.issueId === link.issueId;
}

/** A click of a delivery's link, by token. */
export interface ClickHit {
  deliveryId: number;
  linkId: number;
  link: TrackedLink;
  userAgent: string;
}

/**
 * Classifies and stores one click (settles after its commit): undefined when the link is not
 * the delivery's (or the delivery is unknown), else the Set-Cookie value of the attribution
 * cookie for a reader's click. A burst or an instant click is a scanner: the writer re-labels
 * its earlier clicks and the opens just before, and its later opens are a scanner's.
 */
export function recordClickOn(app: TrackingApp, hit: ClickHit, now = Date.now()): Promise<{ setCookie: string | undefined } | undefined> {
  const settings = settingsNow(app, now);
  if (settings instanceof Promise) return settings.then(() => recordClickOn(app, hit, now));
  if (!settings.clickTracking) return isDeliveryLink(app, hit.deliveryId, hit.link).then((own) => (own ? { setCookie: undefined } : undefined));
  const state = stateOf(app);
  const { deliveryId, linkId, link } = hit;
  const burst = state.bursts.record(deliveryId, linkId, now, settings.clickBurstSeconds * 1000);
  const agent = agentFacts(hit.userAgent);
  const stored = app.writer.write('click_hit', {
    deliveryId,
    linkId,
    linkIssueId: link.issueId,
    at: now,
    personTracking: settings.personTracking,
    classify: (delivery) => {
      const verdict = classifyClick({ agent, honeypot: link.kind === 'honeypot', at: now, sentAt: delivery.sentAt, burstLinks: burst.links }, settings);
      if (verdict.class !== 'bot' || link.kind === 'honeypot' || verdict.reason.startsWith('known')) return verdict;
      state.bursts.markScanned(deliveryId, now);
      return { ...verdict, sweep: { clicksSince: burst.since, opensUntil: delivery.sentAt === null ? null : delivery.sentAt + settings.scannerOpenSeconds * 1000 } };
    },
  });
  return stored.then((s) => {
    if (!s) return undefined;
    if (s.class !== 'human') return { setCookie: undefined };
    return { setCookie: makeAttributionCookie(app.secret, { issueId: s.issueId, deliveryId, subscriberId: s.subscriberId, at: now }, settings.attributionWindowDays, state.secure) };
  });
}

/** One click of a live delivery's link, looked up and stored: where it leads and the cookie a reader gets; undefined when the link is not the delivery's. */
export async function recordClick(app: TrackingApp, hit: { deliveryId: number; linkId: number; userAgent: string }, now = Date.now()): Promise<{ url: string; setCookie: string | undefined } | undefined> {
  const link = await findClickLink(app, hit.linkId, now);
  if (!link) return undefined;
  const clicked = await recordClickOn(app, { ...hit, link }, now);
  return clicked && { url: link.url, setCookie: clicked.setCookie };
}
