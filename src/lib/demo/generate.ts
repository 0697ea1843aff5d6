import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { AppContext } from '../app/context.ts';
import type { IssueLinkKind } from '../db/schema.ts';
import { getSettings } from '../settings/settings.service.ts';
import { applyImport, planImport } from '../subscribers/import.service.ts';
import { findSubscriberByEmail } from '../subscribers/subscribers.repository.ts';
import { confirmSubscription, subscribe, unsubscribe, type SubscriberDeps } from '../subscribers/subscribers.service.ts';
import { createIssue, type ArticleCatalog } from '../issues/issues.service.ts';
import { findLinksByIssue } from '../issues/issues.repository.ts';
import { requestSend, sendOfIssue } from '../sending/send.service.ts';
import { createIssueHooks } from '../sending/issue-hooks.ts';
import { SendWorker } from '../sending/worker.ts';
import { countDeliveriesByStatus, findSentDeliveries } from '../sending/deliveries.repository.ts';
import { MailSendError, type SentMail } from '../mail/transport.ts';
import type { OutgoingMail } from '../mail/message.ts';
import { recordClick, recordOpen } from '../tracking/tracking.service.ts';
import { signupIssueId } from '../tracking/attribution.ts';
import { recordPageView } from '../analytics/page-views.service.ts';
import { recordTap } from '../offline/offline-events.service.ts';
import { dayOf } from '../time/zoned-time.ts';
import { publishedArticleCards } from './articles.ts';
import { createDemoStaff, type DemoLogin } from './accounts.ts';
import { chooseScripts, type IssueScript } from './issue-scripts.ts';
import { openingHoursByWeekday, weekdayAndMinute, isOpenAt, type DayHours } from './opening-hours.ts';
import { addressFor, AGENTS, Cast, type Person } from './people.ts';
import { Random } from './random.ts';
import { Replay } from './replay.ts';
import type { DemoScale } from './scale.ts';
import { awake, DAY_MS, daytimeOn, footfallAt, HOUR_MS, MINUTE_MS, readingDelay, sendTimes, siteTrafficAt } from './rhythms.ts';

/**
 * The demo history of Frobozz Electric: a list imported from the old mailing tool, signups
 * over the weeks, newsletter issues composed, scheduled and sent by the real send worker (to a
 * mailer that delivers nothing), opens and clicks through the tracking service, page views
 * and visits through the event writer, calls and walk-ins tapped on the tally — every one
 * through the project's own services with its time passed in, ending at `now`.
 */
export type DemoApp = Pick<AppContext, 'db' | 'secret' | 'config' | 'writer' | 'visitors' | 'attribution'>;

export interface DemoIssue {
  id: number;
  subject: string;
  sentAt: number;
  sent: number;
  bounced: number;
}

export interface DemoSummary {
  logins: DemoLogin[];
  from: number;
  to: number;
  issues: DemoIssue[];
  /** What was replayed, by kind. */
  counts: Record<'imported' | 'signups' | 'confirmed' | 'unsubscribes' | 'opens' | 'clicks' | 'pageViews' | 'calls' | 'walkIns', number>;
}

/** The send worker's clock advances this much per accepted message: a 5,000-recipient send takes a minute or so. */
const MS_PER_MESSAGE = 12;
const CALLS_PER_OPEN_HOUR = 1;
const WALK_INS_PER_OPEN_HOUR = 2.4;
/** Staff tap within this long before opening or after closing (arriving early, locking up). */
const EDGE_MINUTES = 30;

interface PlannedIssue {
  script: IssueScript;
  number: number;
  sendAt: number;
  id?: number;
  slug?: string;
}

interface IssueLink {
  id: number;
  url: string;
  kind: IssueLinkKind;
  position: number;
}

const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** Mail Privacy Protection fetches come from Apple's 17.0.0.0/8. */
const appleProxyAddress = (random: Random) => `17.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class DemoHistory {
  readonly app: DemoApp;
  readonly scale: DemoScale;
  readonly end: number;
  readonly start: number;
  readonly log: (line: string) => void;
  readonly replay = new Replay();
  readonly cast: Cast;
  readonly people = new Map<number, Person>();
  readonly confirmTokens = new Map<string, string>();
  readonly counts: DemoSummary['counts'] = { imported: 0, signups: 0, confirmed: 0, unsubscribes: 0, opens: 0, clicks: 0, pageViews: 0, calls: 0, walkIns: 0 };
  readonly week: DayHours[] = openingHoursByWeekday();
  readonly catalog: ArticleCatalog = publishedArticleCards();
  readonly articlePaths: string[];
  timeZone = 'UTC';
  siteUrl = '';
  ownHost = '';
  staff: Record<'admin' | 'marketer', number> = { admin: 0, marketer: 0 };
  #visitors = 0;
  #taps = 0;

  constructor(app: DemoApp, scale: DemoScale, now: number, log: (line: string) => void) {
    this.app = app;
    this.scale = scale;
    this.end = now;
    this.start = now - scale.weeks * 7 * DAY_MS;
    this.log = log;
    this.cast = new Cast(scale.seed);
    this.articlePaths = [...this.catalog.keys()].map((slug) => `/articles/${slug}/`);
  }

  random(stream: string): Random {
    return new Random(this.scale.seed, stream);
  }

  get subscriberDeps(): SubscriberDeps {
    return {
      db: this.app.db,
      secret: this.app.secret,
      siteUrl: this.siteUrl,
      sendConfirmation: async (to, data) => {
        this.confirmTokens.set(to, new URL(data.confirmUrl).searchParams.get('token') ?? '');
      },
    };
  }

  // ── people ─────────────────────────────────────────────────────────────────────────────

  /** The list the store kept before Footfall, imported through the CSV import a couple of days before the history starts. */
  async importOldList(count: number): Promise<void> {
    const at = this.start - 2 * DAY_MS;
    const people = Array.from({ length: count }, () => this.cast.add({ imported: true }));
    const csv = stringify([['email', 'name', 'topics'], ...people.map((p) => [p.email, p.name ?? '', p.topics.join('|')])]);
    const mapping = { delimiter: ',' as const, email: 0, name: 1, topics: 2 };
    const plan = await planImport(this.app.db, Readable.from([csv]), mapping, at);
    if (!plan.ok) throw new Error(`demo import not planned: ${plan.error}`);
    const applied = await applyImport(this.app.db, plan.value, { consentNote: 'Signed up on the paper list at the counter; moved from the old mailing tool', actor: `user:${this.staff.admin}` }, at);
    if (!applied.ok) throw new Error(`demo import not applied: ${applied.error}`);
    for (const person of people) {
      const row = await findSubscriberByEmail(this.app.db, person.email);
      if (!row) throw new Error(`imported subscriber ${person.email} not found`);
      this.known(person, Number(row.id));
    }
    this.counts.imported = applied.value.added;
  }

  known(person: Person, subscriberId: number): void {
    person.subscriberId = subscriberId;
    this.people.set(subscriberId, person);
  }

  /**
   * Someone fills in a signup form at `at` in `lane` and (usually) follows the confirmation
   * link a few minutes later. The source issue is worked out the way the form does it: the
   * attribution cookie the browser carries (`cookie()` at that moment), else the campaign.
   */
  planSignup(lane: string, at: number, form: { source: string; campaign: string | null; cookie: () => string | undefined }, random: Random): void {
    const person = this.cast.add({ imported: false });
    const confirms = random.chance(0.88);
    const confirmAt = at + Math.min(2 * DAY_MS, random.logNormal(6 * MINUTE_MS, 1.2));
    this.replay.add({
      at,
      lane,
      run: async (at) => {
        const windowDays = this.app.attribution.attributionWindowDays();
        const issueId = await signupIssueId(this.app.db, { secret: this.app.secret, cookie: form.cookie()?.replace(/^ff_attr=/, ''), campaign: form.campaign, windowDays }, at);
        const result = await subscribe(this.subscriberDeps, { email: person.email, name: person.name, topics: person.topics, form: form.source, campaign: form.campaign, issueId }, at);
        if (!result.ok) throw new Error(`demo signup refused: ${result.error}`);
        this.counts.signups++;
      },
    });
    if (!confirms) return;
    this.replay.add({
      at: confirmAt,
      lane,
      run: async (at) => {
        const confirmed = await confirmSubscription(this.subscriberDeps, this.confirmTokens.get(person.email) ?? null, at);
        if (confirmed.outcome !== 'confirmed' || !confirmed.subscriber) throw new Error(`demo confirmation of ${person.email}: ${confirmed.outcome}`);
        this.known(person, Number(confirmed.subscriber.id));
        this.counts.confirmed++;
      },
    });
  }

  // ── the site ───────────────────────────────────────────────────────────────────────────

  pageView(lane: string, at: number, view: { url: string; referrer?: string; userAgent: string; ip: string; cookie?: () => string | undefined }): void {
    this.replay.add({
      at,
      lane,
      run: async (at) => {
        await recordPageView(this.app, { url: view.url, referrer: view.referrer, userAgent: view.userAgent, ownHost: this.ownHost, ip: view.ip, cookie: view.cookie?.() }, at);
        this.counts.pageViews++;
      },
    });
  }

  /** Pages a visitor reads after landing: one after another, a few seconds to minutes apart. */
  browse(lane: string, from: number, count: number, visitor: { userAgent: string; ip: string; cookie?: () => string | undefined }, random: Random): number {
    let at = from;
    for (let i = 0; i < count; i++) {
      at += random.between(25_000, 4 * MINUTE_MS);
      this.pageView(lane, at, { url: this.sitePath(random), referrer: `${this.siteUrl}/`, ...visitor });
    }
    return at;
  }

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

  /**
   * Everyday visitors over the whole history: by hour and weekday (site time), a little more in
   * the days after each send (readers who come by themselves). Anonymous: one lane and address each.
   */
  planSiteTraffic(sends: PlannedIssue[]): void {
    const random = this.random('site');
    const sessionsPerHour = Math.max(15, this.scale.subscribers * 0.018) / 24;
    for (let hour = Math.floor(this.start / HOUR_MS) * HOUR_MS; hour < this.end; hour += HOUR_MS) {
      let spill = 0;
      for (const s of sends) if (hour >= s.sendAt && hour - s.sendAt < 4 * DAY_MS) spill += 0.35 * s.script.appeal * Math.exp(-(hour - s.sendAt) / (30 * HOUR_MS));
      const sessions = random.poisson(sessionsPerHour * siteTrafficAt(hour + 30 * MINUTE_MS, this.timeZone) * (1 + spill));
      for (let i = 0; i < sessions; i++) this.planVisitor(hour + random.next() * HOUR_MS, random);
    }
  }

  planVisitor(at: number, random: Random): void {
    const n = ++this.#visitors;
    const lane = `v:${n}`;
    const ip = addressFor('visitor', n);
    if (random.chance(0.06)) {
      this.pageView(lane, at, { url: this.sitePath(random), userAgent: random.pick([AGENTS.googlebot, AGENTS.bingbot]), ip });
      return;
    }
    const userAgent = random.weighted([
      [AGENTS.iphone, 30],
      [AGENTS.android, 22],
      [AGENTS.chromeWindows, 22],
      [AGENTS.safariMac, 10],
      [AGENTS.edgeWindows, 8],
      [AGENTS.firefoxLinux, 4],
      [AGENTS.ipad, 4],
    ]);
    const source = random.weighted([
      ['google', 44],
      ['direct', 28],
      ['duckduckgo', 5],
      ['bing', 5],
      ['facebook', 6],
      ['flathead', 6],
      ['reddit', 3],
      ['workshop-ad', 3],
    ] as const);
    const referrer = {
      google: 'https://www.google.com/',
      direct: undefined,
      duckduckgo: 'https://duckduckgo.com/',
      bing: 'https://www.bing.com/',
      facebook: 'https://l.facebook.com/',
      flathead: 'https://flathead-society.example/forum/widgets',
      reddit: 'https://www.reddit.com/r/widgets/',
      'workshop-ad': 'https://l.facebook.com/',
    }[source];
    const landing = source === 'workshop-ad' ? '/articles/repair-counter-and-new-opening-hours/?utm_source=facebook&utm_medium=paid-social&utm_campaign=workshop-evening' : this.sitePath(random);
    this.pageView(lane, at, { url: landing, referrer, userAgent, ip });
    this.browse(lane, at, Math.min(5, random.poisson(1.1)), { userAgent, ip }, random);
  }

  /** People who find the site and sign up, spread like the site's traffic. */
  planOrganicSignups(count: number): void {
    const random = this.random('signups');
    for (let i = 0; i < count; i++) {
      let at = random.between(this.start, this.end);
      while (!random.chance(siteTrafficAt(at, this.timeZone) / 2.2)) at = random.between(this.start, this.end);
      const lane = `s:${i}`;
      const ip = addressFor('visitor', 1_000_000 + i);
      const userAgent = random.pick([AGENTS.iphone, AGENTS.android, AGENTS.chromeWindows, AGENTS.safariMac]);
      const form = random.weighted([
        ['article', 60],
        ['home', 25],
        ['subscribe-page', 15],
      ] as const);
      const path = form === 'article' ? random.pick(this.articlePaths) : form === 'home' ? '/' : '/subscribe/';
      this.pageView(lane, at, { url: path, referrer: random.chance(0.6) ? 'https://www.google.com/' : undefined, userAgent, ip });
      this.planSignup(lane, at + random.between(40_000, 5 * MINUTE_MS), { source: form === 'article' ? `article:${path}` : form, campaign: null, cookie: () => undefined }, random);
    }
  }

  // ── the store ──────────────────────────────────────────────────────────────────────────

  tap(at: number, kind: 'call' | 'walk_in', mentioned: boolean | null, random: Random, note: string | null = null): void {
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

  /**
   * Calls and walk-ins, tapped at the counter: in opening hours by hour and weekday, a few
   * just before opening or after closing, more in the days after a send (an issue about the
   * repair counter brings more than one about batteries), some saying the newsletter sent them.
   */
  planFootfall(sends: PlannedIssue[]): void {
    const random = this.random('footfall');
    for (let hour = Math.floor(this.start / HOUR_MS) * HOUR_MS; hour < this.end; hour += HOUR_MS) {
      const { weekday, minute } = weekdayAndMinute(hour, this.timeZone);
      const hours = this.week[weekday];
      if (!hours) continue;
      const openFrom = Math.max(minute, hours.opens);
      const openTo = Math.min(minute + 60, hours.closes);
      const openMinutes = Math.max(0, openTo - openFrom);
      const edgeMinutes = Math.max(0, Math.min(minute + 60, hours.opens) - Math.max(minute, hours.opens - EDGE_MINUTES)) + Math.max(0, Math.min(minute + 60, hours.closes + EDGE_MINUTES) - Math.max(minute, hours.closes));
      if (openMinutes === 0 && edgeMinutes === 0) continue;
      let lift = 0;
      for (const s of sends) if (hour >= s.sendAt && hour - s.sendAt < 4 * DAY_MS) lift += s.script.footfall * Math.exp(-(hour - s.sendAt) / (30 * HOUR_MS));
      for (const kind of ['call', 'walk_in'] as const) {
        const base = footfallAt(kind, hour + 30 * MINUTE_MS, this.timeZone, kind === 'call' ? CALLS_PER_OPEN_HOUR : WALK_INS_PER_OPEN_HOUR);
        const bump = lift * (kind === 'call' ? 0.75 : 0.55);
        const inHours = random.poisson((base * (1 + bump) * openMinutes) / 60);
        const atEdge = random.poisson((0.12 * edgeMinutes) / 60);
        for (let i = 0; i < inHours + atEdge; i++) {
          const offset = i < inHours ? openFrom - minute + random.next() * openMinutes : this.edgeOffset(minute, hours, random);
          const mentionedShare = 0.04 + (0.6 * bump) / (1 + bump);
          const mentioned = random.chance(mentionedShare) ? true : random.chance(0.3) ? false : null;
          const note = random.chance(0.08) ? random.pick(kind === 'call' ? ['asked about the spring check', 'repair status', 'opening hours', 'battery sizes'] : ['repair drop-off', 'bought batteries', 'spring check', 'browsing']) : null;
          this.tap(hour + offset * MINUTE_MS, kind, mentioned, random, note);
        }
      }
    }
  }

  /** A minute (from the start of the hour) in the half hours around opening and closing. */
  edgeOffset(minute: number, hours: NonNullable<DayHours>, random: Random): number {
    const windows = [
      [hours.opens - EDGE_MINUTES, hours.opens],
      [hours.closes, hours.closes + EDGE_MINUTES],
    ]
      .map(([from, to]) => [Math.max(from!, minute), Math.min(to!, minute + 60)] as const)
      .filter(([from, to]) => to > from);
    const [from, to] = random.pick(windows);
    return from - minute + random.next() * (to - from);
  }

  // ── issues ─────────────────────────────────────────────────────────────────────────────

  /** The marketer writes the issue three days ahead and schedules it the evening before. */
  planComposing(issue: PlannedIssue): void {
    const composeAt = issue.sendAt - 3 * DAY_MS + 2 * HOUR_MS;
    const scheduleAt = issue.sendAt - 15 * HOUR_MS;
    const hooks = createIssueHooks({ secret: this.app.secret });
    this.replay.add({
      at: composeAt,
      lane: 'marketer',
      run: async (at) => {
        const { script } = issue;
        const input = { subject: script.subject, preheader: script.preheader, body_markdown: script.bodyMarkdown, featured_articles: script.featured };
        const created = await createIssue(this.app.db, input, { articles: this.catalog, createdBy: this.staff.marketer }, at);
        if (!created.ok) throw new Error(`demo issue “${script.subject}” not created: ${created.message} ${JSON.stringify(created.fields ?? {})}`);
        issue.id = created.value.id;
        issue.slug = created.value.slug;
      },
    });
    this.replay.add({
      at: scheduleAt,
      lane: 'marketer',
      run: async (at) => {
        const audience = issue.script.topics ? { topics: issue.script.topics } : {};
        const scheduled = await requestSend(this.app.db, hooks, { issueId: issue.id!, audience, at: issue.sendAt, createdBy: this.staff.marketer }, at);
        if (!scheduled.ok) throw new Error(`demo issue “${issue.script.subject}” not scheduled: ${scheduled.message}`);
      },
    });
  }

  /**
   * Sends a scheduled issue with the real send worker — claims, re-checks, personalisation,
   * group-committed outcomes, bounces suppressed — on a clock that starts at the send time,
   * to a mailer that accepts every message without delivering it (addresses that no longer
   * exist are refused with a 550, as a server would).
   */
  async send(issue: PlannedIssue): Promise<DemoIssue> {
    const dead = new Set(this.cast.people.filter((p) => p.dead).map((p) => p.email));
    const mailer = {
      async send(mail: OutgoingMail): Promise<SentMail> {
        const address = /<([^>]+)>\s*$/.exec(mail.to)?.[1] ?? mail.to;
        if (dead.has(address)) {
          throw new MailSendError('Recipient address rejected', { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, response: `550 5.1.1 <${address}>: Recipient address rejected: User unknown in virtual mailbox table` });
        }
        return { messageId: mail.headers?.['Message-ID'] ?? '', accepted: [address], rejected: [], response: '250 2.0.0 Ok: queued (demo: not delivered)' };
      },
    };
    let worker: SendWorker | undefined = undefined;
    worker = new SendWorker({
      db: this.app.db,
      mailer,
      hooks: createIssueHooks({ secret: this.app.secret }),
      // Nothing waits on a network here: a wide pool makes claims of many rows at once.
      concurrency: 32,
      leaseMs: 6 * HOUR_MS,
      pollMs: 5,
      retryBaseMs: 60_000,
      maxAttempts: 5,
      pauseAfterFailures: 1_000_000,
      log: (line) => {
        if (/fail|paus/i.test(line)) this.log(line);
      },
      clock: () => issue.sendAt + (worker?.sent ?? 0) * MS_PER_MESSAGE,
      random: () => 0.5,
    });
    await worker.start();
    try {
      for (let waited = 0; ; waited += 5) {
        const send = await sendOfIssue(this.app.db, issue.id!);
        if (send?.state === 'finished') break;
        if (send?.state === 'paused' || send?.state === 'cancelled') throw new Error(`demo send of “${issue.script.subject}” ${send.state}: ${send.paused_reason ?? ''}`);
        if (waited > 300_000) throw new Error(`demo send of “${issue.script.subject}” did not finish in 5 minutes`);
        await sleep(5);
      }
    } finally {
      await worker.stop();
    }
    const counts = await countDeliveriesByStatus(this.app.db, issue.id!);
    return { id: issue.id!, subject: issue.script.subject, sentAt: issue.sendAt, sent: counts.sent, bounced: counts.bounced };
  }

  /** What readers did with a sent issue: opens, clicks, visits, later visits, calls from its phone link, signups, unsubscribes. */
  async planReading(issue: PlannedIssue): Promise<void> {
    const random = this.random(`issue:${issue.number}`);
    const links: IssueLink[] = (await findLinksByIssue(this.app.db, issue.id!)).map((l) => ({ id: Number(l.id), url: l.url, kind: l.kind, position: l.position }));
    const deliveries = (await findSentDeliveries(this.app.db, issue.id!))
      .map((d) => ({ ...d, person: d.subscriberId === null ? undefined : this.people.get(d.subscriberId) }))
      .filter((d): d is typeof d & { person: Person } => d.person !== undefined)
      .sort((a, b) => a.person.index - b.person.index);
    const { appeal } = issue.script;
    for (const { id: deliveryId, sentAt, person } of deliveries) {
      const lane = `p:${person.index}`;
      if (person.client === 'scanned') this.planScanner(person, deliveryId, sentAt, links, random);
      if (person.client === 'apple' && random.chance(0.97)) {
        const fetched = random.logNormal(80_000, 0.7);
        this.open(lane, sentAt + (fetched >= 15_000 && fetched <= 9 * MINUTE_MS ? fetched : random.between(15_000, 4 * MINUTE_MS)), deliveryId, AGENTS.applePrefetch, appleProxyAddress(random));
      }
      if (!random.chance(Math.min(0.95, person.readiness * appeal))) continue;
      const readAt = awake(sentAt + readingDelay(random), this.timeZone, random);
      this.planPixel(person, lane, deliveryId, readAt, random);
      if (random.chance(person.client === 'gmail' || person.client === 'yahoo' ? 0.12 : 0.25)) this.planPixel(person, lane, deliveryId, readAt + random.logNormal(5 * HOUR_MS, 0.9), random);
      if (random.chance(Math.min(0.7, 0.11 * person.clickiness * appeal ** 1.4))) this.planClicks(issue, person, deliveryId, readAt, links, random);
      if (random.chance(0.0035 / Math.sqrt(appeal))) {
        const at = readAt + random.between(1, 8) * MINUTE_MS;
        this.replay.add({
          at,
          lane,
          run: async (at) => {
            if ((await unsubscribe(this.app.db, person.subscriberId!, { method: 'one-click', issueId: issue.id! }, at)) === 'unsubscribed') this.counts.unsubscribes++;
          },
        });
      }
    }
    this.planForwards(issue, deliveries.length, links, random);
  }

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

  /** The pixel as the reader's mail client loads it (Apple's proxy again, Gmail's or Yahoo's proxy, the client itself, or not at all). */
  planPixel(person: Person, lane: string, deliveryId: number, at: number, random: Random): void {
    if (person.client === 'apple') {
      if (random.chance(0.35)) this.open(lane, at, deliveryId, AGENTS.applePrefetch, appleProxyAddress(random));
    } else if (person.client === 'gmail') this.open(lane, at, deliveryId, AGENTS.gmailProxy, `66.249.${random.int(80, 95)}.${random.int(1, 254)}`);
    else if (person.client === 'yahoo') this.open(lane, at, deliveryId, AGENTS.yahooProxy, `98.136.${random.int(0, 255)}.${random.int(1, 254)}`);
    else if (person.client !== 'blocked') this.open(lane, at, deliveryId, person.mailAgent, person.homeIp);
  }

  /** A link scanner in front of a company mailbox: it fetches the pixel and follows every link, honeypot included, within a second of arrival. */
  planScanner(person: Person, deliveryId: number, sentAt: number, links: IssueLink[], random: Random): void {
    const lane = `p:${person.index}`;
    const userAgent = person.scanner === 'named' ? AGENTS.namedScanner : AGENTS.chromeWindows;
    const ip = addressFor('scanner', person.index + 1);
    const arrival = sentAt + random.between(1500, 3000);
    this.open(lane, arrival, deliveryId, userAgent, ip);
    let at = arrival + random.between(400, 900);
    for (const link of links) {
      this.click(lane, at, person, deliveryId, link.id, userAgent, false);
      at += random.between(60, 160);
    }
  }

  click(lane: string, at: number, person: Person, deliveryId: number, linkId: number, userAgent: string, keepsCookie: boolean): void {
    this.replay.add({
      at,
      lane,
      run: async (at) => {
        const clicked = await recordClick(this.app, { deliveryId, linkId, userAgent }, at);
        if (!clicked) throw new Error(`demo click on link ${linkId} of delivery ${deliveryId} not recorded`);
        if (keepsCookie && clicked.setCookie) person.cookie = clicked.setCookie.split(';', 1)[0];
        this.counts.clicks++;
      },
    });
  }

  /** A reader clicks one to three links, minutes apart: site links land on the site (and some come back later), the phone link makes a call. */
  planClicks(issue: PlannedIssue, person: Person, deliveryId: number, readAt: number, links: IssueLink[], random: Random): void {
    const lane = `p:${person.index}`;
    const weight = (l: IssueLink) => (l.kind === 'site' ? (l.position <= 2 ? 5 : 3) : l.kind === 'tel' ? 0.8 : l.kind === 'external' ? 0.7 : l.kind === 'mailto' ? 0.3 : 0);
    const candidates = links.filter((l) => weight(l) > 0);
    const wanted = random.weighted([
      [1, 70],
      [2, 24],
      [3, 6],
    ]);
    const chosen: IssueLink[] = [];
    while (chosen.length < Math.min(wanted, candidates.length)) {
      const link = random.weighted(candidates.filter((l) => !chosen.includes(l)).map((l) => [l, weight(l)] as const));
      chosen.push(link);
    }
    const visitor = { userAgent: person.browser, ip: person.homeIp, cookie: () => person.cookie };
    let at = readAt + Math.min(2 * HOUR_MS, Math.max(15_000, random.logNormal(75_000, 0.9)));
    for (const link of chosen) {
      this.click(lane, at, person, deliveryId, link.id, person.browser, true);
      if (link.kind === 'site') {
        const landedAt = at + random.between(1000, 4000);
        const webmail = person.client === 'gmail' && !person.mobile ? 'https://mail.google.com/' : undefined;
        this.pageView(lane, landedAt, { url: pathOf(link.url), referrer: webmail, ...visitor });
        const leftAt = this.browse(lane, landedAt, Math.min(4, random.poisson(1.2)), visitor, random);
        if (random.chance(0.025)) this.planSignup(lane, leftAt + random.between(1, 6) * MINUTE_MS, { source: `article:${new URL(link.url).pathname}`, campaign: issue.slug ?? null, cookie: () => person.cookie }, random);
        if (random.chance(0.22 * Math.sqrt(issue.script.appeal))) this.planLaterVisits(lane, at, visitor, random);
      } else if (link.kind === 'tel') {
        const callAt = at + random.between(30_000, 3 * MINUTE_MS);
        if (isOpenAt(callAt, this.timeZone, this.week)) this.tap(callAt, 'call', random.chance(0.7) ? true : null, random);
      }
      at += random.between(2, 15) * MINUTE_MS;
    }
  }

  /** Back on their own, a day to six days later, carrying the issue's cookie. */
  planLaterVisits(lane: string, clickedAt: number, visitor: { userAgent: string; ip: string; cookie: () => string | undefined }, random: Random): void {
    const returns = random.chance(0.3) ? 2 : 1;
    for (let i = 0; i < returns; i++) {
      const at = daytimeOn(clickedAt + random.between(0.7, 6) * DAY_MS, this.timeZone, random);
      if (at - clickedAt < 2 * HOUR_MS) continue;
      this.pageView(lane, at, { url: random.chance(0.5) ? '/' : random.pick(this.articlePaths), ...visitor });
      this.browse(lane, at, Math.min(3, random.poisson(0.8)), visitor, random);
    }
  }

  /** Issues forwarded to friends: visits landing with the issue's utm_campaign and no cookie; some of these friends sign up. */
  planForwards(issue: PlannedIssue, recipients: number, links: IssueLink[], random: Random): void {
    const siteLinks = links.filter((l) => l.kind === 'site');
    if (siteLinks.length === 0) return;
    const forwards = random.poisson(recipients * 0.01 * issue.script.appeal);
    for (let i = 0; i < forwards; i++) {
      const lane = `f:${issue.number}:${i}`;
      const ip = addressFor('forward', issue.number * 100_000 + i + 1);
      const userAgent = random.pick([AGENTS.iphone, AGENTS.android, AGENTS.chromeWindows, AGENTS.safariMac]);
      const at = awake(issue.sendAt + readingDelay(random) + random.between(1, 30) * HOUR_MS, this.timeZone, random);
      const link = random.pick(siteLinks);
      this.pageView(lane, at, { url: pathOf(link.url), userAgent, ip });
      const leftAt = this.browse(lane, at, Math.min(3, random.poisson(0.9)), { userAgent, ip }, random);
      if (random.chance(0.18)) this.planSignup(lane, leftAt + random.between(1, 5) * MINUTE_MS, { source: `article:${new URL(link.url).pathname}`, campaign: issue.slug ?? null, cookie: () => undefined }, random);
    }
  }

  // ── the whole history ──────────────────────────────────────────────────────────────────

  async generate(): Promise<DemoSummary> {
    // Read once as of the end: the settings cache then answers every earlier moment of the
    // history (they do not change during it) instead of one query per replayed hit.
    const settings = await getSettings(this.app.db, { now: this.end });
    this.timeZone = settings.timeZone;
    this.siteUrl = settings.siteUrl;
    this.ownHost = new URL(settings.siteUrl).host;
    const began = Date.now();
    const { ids, logins } = await createDemoStaff(this.app.db, this.start - 90 * DAY_MS);
    this.staff = ids;

    const imported = Math.round(this.scale.subscribers * 0.8);
    await this.importOldList(imported);
    this.log(`${imported.toLocaleString('en')} subscribers imported from the old list on ${dayOf(this.start - 2 * DAY_MS, this.timeZone)}`);

    const scripts = chooseScripts(this.scale.issues);
    const plan: PlannedIssue[] = sendTimes(this.start, this.end, scripts.length, this.timeZone, this.random('sends')).map((sendAt, i) => ({ script: scripts[i]!, number: i + 1, sendAt }));
    this.planSiteTraffic(plan);
    this.planFootfall(plan);
    this.planOrganicSignups(Math.round(this.scale.subscribers * 0.17));
    for (const issue of plan) this.planComposing(issue);

    const issues: DemoIssue[] = [];
    for (const issue of plan) {
      await this.replay.runUntil(issue.sendAt);
      const sent = await this.send(issue);
      issues.push(sent);
      this.log(`${dayOf(issue.sendAt, this.timeZone)}  issue ${issue.number}/${plan.length} “${issue.script.subject}” sent to ${sent.sent.toLocaleString('en')}${sent.bounced ? ` (${sent.bounced} bounced)` : ''} · ${this.progress(began)}`);
      await this.planReading(issue);
    }
    this.replay.dropFrom(this.end);
    await this.replay.runUntil(this.end);
    await this.app.writer.flush();
    this.log(`history up to now replayed · ${this.progress(began)}`);
    return { logins, from: this.start, to: this.end, issues, counts: { ...this.counts } };
  }

  progress(began: number): string {
    const c = this.counts;
    return `${c.pageViews.toLocaleString('en')} page views, ${c.opens.toLocaleString('en')} opens, ${c.clicks.toLocaleString('en')} clicks, ${(c.calls + c.walkIns).toLocaleString('en')} calls and walk-ins so far (${((Date.now() - began) / 1000).toFixed(1)} s)`;
  }
}

/** Fills an empty, migrated database with the demo history ending at `now`; answers the staff logins and what was made. */
export async function generateDemo(app: DemoApp, scale: DemoScale, now = Date.now(), log: (line: string) => void = () => {}): Promise<DemoSummary> {
  return new DemoHistory(app, scale, now, log).generate();
}
