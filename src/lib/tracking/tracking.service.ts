import type { AppContext } from '../app/context.ts';
import { getSettings, peekSettings } from '../settings/settings.service.ts';
import type { Settings } from '../settings/settings.ts';
import { findLinksByIssue } from '../issues/issues.repository.ts';
import type { IssueLinkKind } from '../db/schema.ts';
import { agentFacts } from './classify-agent.ts';
import type { HitSource, NetworkLookup } from './hit-source.ts';
import { findDeliveryById, findLinkIssueId } from './reads.repository.ts';
import type { HitResult } from './hit-writer.ts';
import { makeAttributionCookie } from './attribution.ts';
import { makeReaderCookie } from './reader-cookie.ts';
import { makeClickMarkerCookie } from './click-marker.ts';

/**
 * Recording opens, clicks and link checks: the link look-up (an in-memory cache of what was
 * registered when issues were rendered), who sent the hit (the network lookup and the agent) and
 * the event writer, which reads the hit's delivery and judges it inside its transaction
 * (src/lib/tracking/hit-writer.ts). The /t/ fast path calls these with the request's facts;
 * anything else that replays tracked hits (the demo) passes its own time.
 */
export type TrackingApp = Pick<AppContext, 'db' | 'secret' | 'config' | 'hits'> & { networks: NetworkLookup };

const CACHE_MS = 60_000;
const CACHE_MAX = 100_000;

export interface TrackedLink {
  issueId: number;
  url: string;
  kind: IssueLinkKind;
}

/** Registered links by id, loaded a whole issue at a time (links never change once registered). */
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
  secure: boolean;
}

const states = new WeakMap<TrackingApp, TrackingState>();

function stateOf(app: TrackingApp): TrackingState {
  let state = states.get(app);
  if (!state) {
    state = { links: new LinkCache(app), secure: app.config.siteUrl.startsWith('https:') };
    states.set(app, state);
  }
  return state;
}

/** The settings without waiting once they are cached (the first call of a process reads them). */
function settingsNow(app: TrackingApp, now: number): Readonly<Settings> | Promise<Readonly<Settings>> {
  return peekSettings(app.db, now) ?? getSettings(app.db, { now });
}

/** Who sent a request: the owner of its address and its agent (as sent; '' for none). */
export function hitSourceOf(app: Pick<TrackingApp, 'networks'>, ip: string, userAgent: string): HitSource {
  return { owner: app.networks.lookup(ip), agent: agentFacts(userAgent) };
}

/** One pixel load of a delivery: who loaded it (the user agent as sent, the client's address). */
export interface OpenRequest {
  deliveryId: number;
  userAgent: string;
  ip: string;
}

/**
 * Classifies and stores one open: a promise that settles after its commit with what it came to
 * (undefined for an unknown delivery), or undefined when open tracking is off. Nothing is
 * awaited before the writer when the settings are cached, so a pixel waits only for its commit.
 */
export function recordOpen(app: TrackingApp, hit: OpenRequest, now = Date.now()): Promise<HitResult> | undefined {
  const settings = settingsNow(app, now);
  if (settings instanceof Promise) return settings.then(() => recordOpen(app, hit, now));
  if (!settings.openTracking) return undefined;
  return app.hits.write({
    type: 'open',
    deliveryId: hit.deliveryId,
    at: now,
    personTracking: settings.personTracking,
    source: hitSourceOf(app, hit.ip, hit.userAgent),
    thresholds: settings,
  });
}

/** A click token's link, if registered (synchronous when cached); rejects when the database cannot be asked. */
export function findClickLink(
  app: TrackingApp,
  linkId: number,
  now = Date.now(),
): TrackedLink | undefined | Promise<TrackedLink | undefined> {
  return stateOf(app).links.get(linkId, now);
}

/** Whether the delivery exists and the link is one of its issue's (for answers that record nothing). */
export async function isDeliveryLink(app: TrackingApp, deliveryId: number, link: TrackedLink): Promise<boolean> {
  return (await findDeliveryById(app.db, deliveryId))?.issueId === link.issueId;
}

/** A click of a delivery's link, by token. */
export interface ClickRequest {
  deliveryId: number;
  linkId: number;
  link: TrackedLink;
  userAgent: string;
  ip: string;
}

/**
 * Classifies and stores one click (settles after its commit): undefined when the link is not
 * the delivery's (or the delivery is unknown), else the Set-Cookie value for the redirect — for a
 * reader's click the attribution cookie, for a machine's the click's marker — both name the click,
 * so the page view it leads to follows its class (and is re-labelled with it). A click of a
 * delivery never sent is not stored and sets nothing.
 */
export function recordClickOn(
  app: TrackingApp,
  hit: ClickRequest,
  now = Date.now(),
): Promise<{ setCookie: string[] | undefined } | undefined> {
  const settings = settingsNow(app, now);
  if (settings instanceof Promise) return settings.then(() => recordClickOn(app, hit, now));
  if (!settings.clickTracking)
    return isDeliveryLink(app, hit.deliveryId, hit.link).then((own) => (own ? { setCookie: undefined } : undefined));
  const state = stateOf(app);
  const { deliveryId, linkId, link } = hit;
  const stored = app.hits.write({
    type: 'click',
    deliveryId,
    linkId,
    linkIssueId: link.issueId,
    honeypot: link.kind === 'honeypot',
    at: now,
    personTracking: settings.personTracking,
    source: hitSourceOf(app, hit.ip, hit.userAgent),
    thresholds: settings,
  });
  return stored.then((s) => {
    if (!s) return undefined;
    if (s.class === null) return { setCookie: undefined };
    if (s.class !== 'human')
      return { setCookie: [makeClickMarkerCookie(app.secret, { deliveryId, at: now }, state.secure)] };
    const attribution = makeAttributionCookie(
      app.secret,
      { issueId: s.issueId, deliveryId, subscriberId: s.subscriberId, at: now },
      settings.attributionWindowDays,
      state.secure,
    );
    // The reader cookie names the subscriber for later visits (only with per-person tracking: the click names them).
    if (s.subscriberId === null) return { setCookie: [attribution] };
    return {
      setCookie: [attribution, makeReaderCookie(app.secret, { subscriberId: s.subscriberId, at: now }, state.secure)],
    };
  });
}

/** One click of a delivery's link, looked up and stored: where it leads and the cookies it sets; undefined when the link is not the delivery's. */
export async function recordClick(
  app: TrackingApp,
  hit: { deliveryId: number; linkId: number; userAgent: string; ip: string },
  now = Date.now(),
): Promise<{ url: string; setCookie: string[] | undefined } | undefined> {
  const link = await findClickLink(app, hit.linkId, now);
  if (!link) return undefined;
  const clicked = await recordClickOn(app, { ...hit, link }, now);
  return clicked && { url: link.url, setCookie: clicked.setCookie };
}

/**
 * A HEAD request on a tracked link: never a click, kept as a link check (a scanner checking every
 * link is a sweep). Resolves whether the link is the delivery's (the answer is a redirect or 404).
 */
export function recordLinkCheck(app: TrackingApp, hit: ClickRequest, now = Date.now()): Promise<boolean> {
  const settings = settingsNow(app, now);
  if (settings instanceof Promise) return settings.then(() => recordLinkCheck(app, hit, now));
  if (!settings.clickTracking) return isDeliveryLink(app, hit.deliveryId, hit.link);
  return app.hits
    .write({
      type: 'check',
      kind: 'head',
      deliveryId: hit.deliveryId,
      linkId: hit.linkId,
      linkIssueId: hit.link.issueId,
      at: now,
      personTracking: settings.personTracking,
      source: hitSourceOf(app, hit.ip, hit.userAgent),
      thresholds: settings,
    })
    .then((s) => s !== undefined);
}

/**
 * The unsubscribe page of an issue's message opened (a GET, which unsubscribes nobody): a link
 * of the delivery followed, kept as a link check so a sweep that reached it counts it.
 */
export async function recordUnsubscribePage(
  app: TrackingApp,
  hit: { issueId: number; subscriberId: number; userAgent: string; ip: string },
  now = Date.now(),
): Promise<void> {
  const settings = await settingsNow(app, now);
  if (!settings.clickTracking) return;
  await app.hits.write({
    type: 'check',
    kind: 'unsubscribe',
    deliveryId: 0,
    subscriberId: hit.subscriberId,
    linkId: null,
    linkIssueId: hit.issueId,
    at: now,
    personTracking: settings.personTracking,
    source: hitSourceOf(app, hit.ip, hit.userAgent),
    thresholds: settings,
  });
}
