import type { AppContext } from '../lib/app/context.ts';
import type { NetworkLookup } from '../lib/network/network.ts';
import type { ArticleCatalog } from '../lib/issues/issues.service.ts';
import { confirmSubscription, subscribe, type SubscriberDeps } from '../lib/subscribers/subscribers.service.ts';
import { recordClick, recordOpen } from '../lib/tracking/tracking.service.ts';
import { attributionCookieValue, signupSource } from '../lib/tracking/attribution.ts';
import { recordPageView } from '../lib/analytics/page-views.service.ts';
import { recordTap } from '../lib/offline/offline-events.service.ts';
import { recordWebhookCall } from '../lib/offline/call-webhook.ts';
import { storeCall } from '../lib/offline/call-writer.ts';
import { normalizePhone } from '../lib/phone/phone-number.ts';
import { publishedArticleCards } from './articles.ts';
import { openingHoursByWeekday, type DayHours } from './opening-hours.ts';
import { Cast, type Person } from './people.ts';
import { Random } from './random.ts';
import { Replay } from './replay.ts';
import { DAY_MS, MINUTE_MS } from './rhythms.ts';
import type { DemoScale } from './scale.ts';

export type DemoApp = Pick<
  AppContext,
  'db' | 'secret' | 'config' | 'writer' | 'hits' | 'pageViews' | 'visitors' | 'attribution' | 'issueSending'
> & { networks: NetworkLookup };

export type DemoCounts = Record<
  'imported' | 'signups' | 'confirmed' | 'unsubscribes' | 'opens' | 'clicks' | 'pageViews' | 'calls' | 'walkIns',
  number
>;

/** A browser's Cookie header after it took `setCookie` (same-named cookies replaced, others kept). */
function withCookies(header: string | undefined, setCookie: string[]): string {
  const jar = new Map(
    (header ?? '')
      .split('; ')
      .filter(Boolean)
      .map((pair) => [pair.split('=', 1)[0]!, pair] as const),
  );
  for (const c of setCookie) {
    const pair = c.split(';', 1)[0]!;
    jar.set(pair.split('=', 1)[0]!, pair);
  }
  return [...jar.values()].join('; ');
}

interface SignupForm {
  source: string;
  campaign: string | null;
  cookie: () => string | undefined;
}

/** Someone browsing: the agent and address they browse with, and the cookie header they carry at that moment. */
export interface Browser {
  userAgent: string;
  ip: string;
  cookie?: () => string | undefined;
}

/**
 * The demo history as it is planned: the people, the site, the store, and the happenings
 * waiting to be replayed. Each `plan…`/happening method adds to the replay one thing that
 * goes through a service (a page view, an open, a click, a tap, a signup) with its own time.
 */
export class DemoHistory {
  readonly app: DemoApp;
  readonly scale: DemoScale;
  readonly end: number;
  readonly start: number;
  readonly log: (line: string) => void;
  readonly replay = new Replay();
  readonly cast: Cast;
  /** People by subscriber id, once their row exists. */
  readonly people = new Map<number, Person>();
  readonly counts: DemoCounts = {
    imported: 0,
    signups: 0,
    confirmed: 0,
    unsubscribes: 0,
    opens: 0,
    clicks: 0,
    pageViews: 0,
    calls: 0,
    walkIns: 0,
  };
  readonly week: DayHours[] = openingHoursByWeekday();
  readonly catalog: ArticleCatalog = publishedArticleCards();
  readonly articlePaths: string[];
  readonly #confirmTokens = new Map<string, string>();
  timeZone = 'UTC';
  siteUrl = '';
  ownHost = '';
  staff: Record<'admin' | 'marketer', number> = { admin: 0, marketer: 0 };
  #taps = 0;
  #trackedCalls = 0;
  /**
   * Signups take turns, in the order the replay starts them: the subscriber rows get their ids
   * in that order on either database (run together on PostgreSQL's pool they raced, and the ids,
   * which an experiment's seeded split orders by, differed between runs of one seed).
   */
  #signupTurn: Promise<void> = Promise.resolve();

  constructor(app: DemoApp, scale: DemoScale, now: number, log: (line: string) => void) {
    this.app = app;
    this.scale = scale;
    this.end = now;
    this.start = now - scale.weeks * 7 * DAY_MS;
    this.log = log;
    this.cast = new Cast(scale.seed);
    this.articlePaths = [...this.catalog.keys()].map((slug) => `/articles/${slug}/`);
  }

  /** A random stream of its own for each part of the history, so changing one part leaves the others as they were. */
  random(stream: string): Random {
    return new Random(this.scale.seed, stream);
  }

  /** The signup services' dependencies; the confirmation email is not sent but its link kept, for the person to follow. */
  get subscriberDeps(): SubscriberDeps {
    return {
      db: this.app.db,
      secret: this.app.secret,
      siteUrl: this.siteUrl,
      sendConfirmation: async (to, data) => {
        this.#confirmTokens.set(to, new URL(data.confirmUrl).searchParams.get('token') ?? '');
      },
    };
  }

  /** Links a person to their subscriber row (made by the import or a confirmed signup). */
  known(person: Person, subscriberId: number): void {
    person.subscriberId = subscriberId;
    this.people.set(subscriberId, person);
  }

  /**
   * Someone fills in a signup form at `at` in `lane` and (usually) follows the confirmation
   * link a few minutes later. The source issue is worked out the way the form does it: the
   * attribution cookie the browser carries (`cookie()` at that moment), else the campaign.
   */
  planSignup(lane: string, at: number, form: SignupForm, random: Random): void {
    const person = this.cast.add({ imported: false });
    const confirms = random.chance(0.88);
    const confirmAt = at + Math.min(2 * DAY_MS, random.logNormal(6 * MINUTE_MS, 1.2));
    this.replay.add({
      at,
      lane,
      run: async (at) => {
        const previous = this.#signupTurn;
        let done!: () => void;
        this.#signupTurn = new Promise<void>((resolve) => (done = resolve));
        await previous;
        try {
          await this.#signUp(person, form, at);
        } finally {
          done();
        }
      },
    });
    if (!confirms) return;
    this.replay.add({
      at: confirmAt,
      lane,
      run: async (at) => {
        const confirmed = await confirmSubscription(
          this.subscriberDeps,
          this.#confirmTokens.get(person.email) ?? null,
          at,
        );
        if (confirmed.outcome !== 'confirmed' || !confirmed.subscriber)
          throw new Error(`demo confirmation of ${person.email}: ${confirmed.outcome}`);
        this.known(person, Number(confirmed.subscriber.id));
        this.counts.confirmed++;
      },
    });
  }

  async #signUp(person: Person, form: SignupForm, at: number): Promise<void> {
    const windowDays = this.app.attribution.attributionWindowDays();
    const source = await signupSource(
      this.app.db,
      {
        secret: this.app.secret,
        cookie: attributionCookieValue(form.cookie()),
        campaign: form.campaign,
        windowDays,
      },
      at,
    );
    const result = await subscribe(
      this.subscriberDeps,
      {
        email: person.email,
        name: person.name,
        topics: person.topics,
        form: form.source,
        campaign: form.campaign,
        issueId: source.issueId,
        deliveryId: source.deliveryId,
      },
      at,
    );
    if (!result.ok) throw new Error(`demo signup refused: ${result.error}`);
    this.counts.signups++;
  }

  // ── the site ───────────────────────────────────────────────────────────────────────────

  pageView(lane: string, at: number, view: Browser & { url: string; referrer?: string }): void {
    this.replay.add({
      at,
      lane,
      run: async (at) => {
        await recordPageView(
          this.app,
          {
            url: view.url,
            referrer: view.referrer,
            userAgent: view.userAgent,
            ownHost: this.ownHost,
            ip: view.ip,
            cookie: view.cookie?.(),
          },
          at,
        );
        this.counts.pageViews++;
      },
    });
  }

  /** Pages a visitor reads after landing: one after another, a few seconds to minutes apart. */
  browse(lane: string, from: number, count: number, visitor: Browser, random: Random): number {
    let at = from;
    for (let i = 0; i < count; i++) {
      at += random.between(25_000, 4 * MINUTE_MS);
      this.pageView(lane, at, { url: this.sitePath(random), referrer: `${this.siteUrl}/`, ...visitor });
    }
    return at;
  }

  /** A page of the site, about as often as people read each. */
  sitePath(random: Random): string {
    return random.weighted([
      ['/', 30],
      [random.pick(this.articlePaths), 50],
      ['/articles/', 8],
      ['/newsletter/', 4],
      ['/subscribe/', 3],
      [random.pick(['/tags/repair/', '/tags/batteries/', '/tags/care/', '/tags/buying-guide/']), 5],
    ]);
  }

  // ── mail and the store ─────────────────────────────────────────────────────────────────

  /** A load of a delivery's open pixel, classified by the tracking service as on the /t/o/ route. */
  open(lane: string, at: number, deliveryId: number, userAgent: string, ip: string): void {
    this.replay.add({
      at,
      lane,
      run: async (at) => {
        await recordOpen(this.app, { deliveryId, userAgent, ip }, at);
        this.counts.opens++;
      },
    });
  }

  /** A click on a tracked link through the tracking service; with `keepsCookie`, the browser keeps the cookies it sets (the click's marker and, for a reader's click, the attribution cookie). */
  click(
    lane: string,
    at: number,
    person: Person,
    deliveryId: number,
    linkId: number,
    browser: { userAgent: string; ip: string },
    keepsCookie: boolean,
  ): void {
    this.replay.add({
      at,
      lane,
      run: async (at) => {
        const clicked = await recordClick(
          this.app,
          { deliveryId, linkId, userAgent: browser.userAgent, ip: browser.ip },
          at,
        );
        if (!clicked) throw new Error(`demo click on link ${linkId} of delivery ${deliveryId} not recorded`);
        if (keepsCookie && clicked.setCookie) person.cookie = withCookies(person.cookie, clicked.setCookie);
        this.counts.clicks++;
      },
    });
  }

  /** A call or walk-in, tapped on the tally page by one of the staff. */
  tap(
    at: number,
    kind: 'call' | 'walk_in',
    mentioned: boolean | null,
    random: Random,
    note: string | null = null,
  ): void {
    const clientId = random.uuid();
    const by = random.chance(0.6) ? this.staff.marketer : this.staff.admin;
    this.replay.add({
      at,
      lane: `t:${++this.#taps}`,
      run: async (at) => {
        const tapped = await recordTap(this.app.db, by, { kind, clientId, mentioned, note }, at);
        if (!tapped.ok) throw new Error(`demo tap refused: ${tapped.message}`);
        if (kind === 'call') this.counts.calls++;
        else this.counts.walkIns++;
      },
    });
  }

  /** A call to an issue's tracked number, as the call-tracking provider reports it through the webhook: credited to that issue. */
  trackedCall(at: number, trackedPhone: string, random: Random): void {
    const to = normalizePhone(trackedPhone);
    if (!to) throw new Error(`not a phone number: ${trackedPhone}`);
    const call = {
      from: `+1555${random.int(1_000_000, 9_999_999)}`,
      to,
      durationS: Math.round(random.logNormal(150, 0.7)),
      externalId: `demo-${random.uuid()}`,
    };
    this.replay.add({
      at,
      lane: `c:${++this.#trackedCalls}`,
      run: async (at) => {
        await recordWebhookCall(
          { calls: { write: (row) => storeCall(this.app.db, row) }, serverSecret: this.app.secret },
          { ...call, at },
          at,
        );
        this.counts.calls++;
      },
    });
  }
}
