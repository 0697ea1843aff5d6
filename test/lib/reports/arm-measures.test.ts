import { beforeAll, expect, it } from 'vitest';
import type { DB } from '#lib/db/database.ts';
import { experimentReport } from '#lib/reports/experiment-report.service.ts';
import { compareIssues } from '#lib/reports/issue-report.service.ts';
import { experimentJson } from '#lib/reports/report-json.ts';
import { pruneRawEvents } from '#lib/reports/retention.service.ts';
import {
  confirmSubscription,
  eraseSubscriber,
  subscribe,
  type SubscriberDeps,
} from '#lib/subscribers/subscribers.service.ts';
import { attributionCookieValue, makeAttributionCookie, signupSource } from '#lib/tracking/attribution.ts';
import { recordClick } from '#lib/tracking/tracking.service.ts';
import { recordPageView } from '#lib/analytics/page-views.service.ts';
import { VisitorHasher } from '#lib/analytics/visitor-hash.service.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { IPS, trackingApp } from '../../helpers/networks.ts';
import { TEST_SECRET } from '../../helpers/tracking.ts';
import { insertMatchedCall, seedExperimentIssue, sweep, type Seeded } from '../../helpers/experiments.ts';
import { Browser } from '../../helpers/cookie-browser.ts';

/**
 * The per-arm measures that were bare counts or missing (issue 19): recipients who came back
 * later and recipients who called, per 100 delivered with their Wilson intervals (people; the
 * later visits and calls as events beside them), the signups each arm's links referred (a
 * recipient's own click or a forward of it: the attribution cookie names the delivery).
 *
 * On top of seedExperimentIssue (A: a0 comes back later; B: b1's click and later visit are a
 * proxy's, taken back by `sweep`):
 *   later visits   a0 comes back a second time (+2 d): A 2 later visits, 1 person
 *   calls          A[0] 1 call (+2 h); B[0] 2 calls (+3 h, +1 d); holdout[0] 1 call (+1 h);
 *                  A[1] 1 call 8 days after (outside the window); one undone call for B[2]
 *   signups        f1: a friend's browser clicks A[3]'s forwarded link, signs up, confirms → A
 *                  f2: clicks B[3]'s forwarded link, signs up, confirms → B
 *                  f3: lands on the issue's campaign without a cookie, confirms → the issue, no arm
 *                  f4: clicks rest[1]'s forwarded link, signs up, never confirms → nothing
 *                  (A[3], B[3] and rest[1] never clicked themselves: the friends' visits are no later visits)
 */
const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;
const SENT = Date.UTC(2026, 10, 24, 10, 0);
const NOW = SENT + 10 * DAY;

function depsFor(db: DB) {
  const tokens = new Map<string, string>();
  const deps: SubscriberDeps = {
    db,
    secret: 'k'.repeat(43),
    siteUrl: 'https://frobozz.test',
    sendConfirmation: async (to, data) => void tokens.set(to, new URL(data.confirmUrl).searchParams.get('token')!),
  };
  return { deps, tokenFor: (email: string) => tokens.get(email)! };
}

async function seed(db: DB) {
  const seeded = await seedExperimentIssue(db, SENT);
  const { issue, arms } = seeded;
  const app = trackingApp(db);
  const visitors = new VisitorHasher(db);
  const view = (browser: Browser, url: string, at: number) =>
    recordPageView(
      {
        pageViews: app.pageViews,
        visitors,
        attribution: { secret: TEST_SECRET, attributionWindowDays: () => 7 },
        networks: app.networks,
      },
      {
        url,
        referrer: undefined,
        userAgent: browser.userAgent,
        ownHost: '127.0.0.1:4321',
        ip: browser.ip,
        cookie: browser.header,
      },
      at,
    );
  // a0's browser, by its attribution cookie (A[0]'s click at +1 h), comes back a second time.
  const a0 = new Browser(IPS.bt);
  a0.take([
    makeAttributionCookie(
      TEST_SECRET,
      {
        issueId: issue.issueId,
        deliveryId: arms.A[0]!.deliveryId,
        subscriberId: arms.A[0]!.subscriberId,
        at: SENT + H,
      },
      7,
      false,
    ),
  ]);
  await view(a0, '/articles/', SENT + 2 * DAY);

  // Signups: a click on a delivery's link sets the attribution cookie; the form reads it.
  const { deps, tokenFor } = depsFor(db);
  const signUp = async (email: string, browser: Browser, at: number, campaign: string | null, confirm = true) => {
    const source = await signupSource(
      db,
      { secret: TEST_SECRET, cookie: attributionCookieValue(browser.header), campaign, windowDays: 7 },
      at,
    );
    await subscribe(deps, { email, form: 'home', campaign, ...source }, at);
    if (confirm) expect((await confirmSubscription(deps, tokenFor(email), at + MIN)).outcome).toBe('confirmed');
  };
  const clickAs = async (browser: Browser, deliveryId: number, at: number) => {
    browser.take(
      (
        await recordClick(
          app,
          { deliveryId, linkId: issue.links.site.id, userAgent: browser.userAgent, ip: browser.ip },
          at,
        )
      )?.setCookie,
    );
    await view(browser, new URL(issue.links.site.url).pathname, at + 800);
  };
  const f1 = new Browser('81.2.9.1');
  await clickAs(f1, arms.A[3]!.deliveryId, SENT + 5 * H);
  const f2 = new Browser('81.2.9.2');
  await clickAs(f2, arms.B[3]!.deliveryId, SENT + 6 * H);
  const f4 = new Browser('81.2.9.4');
  await clickAs(f4, arms.rest[1]!.deliveryId, SENT + 6 * H);
  await app.writer.close();
  await signUp('f1@example.com', f1, SENT + 5 * H + 2 * MIN, null);
  await signUp('f2@example.com', f2, SENT + 6 * H + 2 * MIN, null);
  await signUp('f3@example.com', new Browser('81.2.9.3'), SENT + 7 * H, issue.slug);
  await signUp('f4@example.com', f4, SENT + 6 * H + 3 * MIN, null, false);

  const call = (subscriberId: number | null, at: number, undone = false) =>
    insertMatchedCall(db, subscriberId, at, undone);
  await call(arms.A[0]!.subscriberId, SENT + 2 * H);
  await call(arms.B[0]!.subscriberId, SENT + 3 * H);
  await call(arms.B[0]!.subscriberId, SENT + DAY);
  await call(arms.holdout[0]!.subscriberId, SENT + H);
  await call(arms.A[1]!.subscriberId, SENT + 8 * DAY);
  await call(arms.B[2]!.subscriberId, SENT + 2 * H, true);
  return seeded;
}

/** Per arm from raw rows: deliveries with a stored later visit, delivered people with a call in the window, confirmed signups by their click's delivery. */
async function directCounts(db: DB, issueId: number) {
  const deliveries = await db
    .selectFrom('deliveries')
    .select(['id', 'arm', 'status', 'subscriber_id'])
    .where('issue_id', '=', issueId)
    .execute();
  const armOf = new Map(deliveries.map((d) => [Number(d.id), d.arm!]));
  const later = await db
    .selectFrom('visits')
    .select('delivery_id')
    .where('issue_id', '=', issueId)
    .where('is_later', '=', 1)
    .execute();
  const calls = await db
    .selectFrom('offline_events')
    .select(['subscriber_id', 'at'])
    .where('kind', '=', 'call')
    .where('undone_at', 'is', null)
    .execute();
  const signups = await db
    .selectFrom('subscribers')
    .select('source_delivery_id')
    .where('confirmed_at', 'is not', null)
    .where('source_issue_id', '=', issueId)
    .execute();
  const tally = (arms: string[]) =>
    arms.reduce<Record<string, number>>((out, arm) => ({ ...out, [arm]: (out[arm] ?? 0) + 1 }), {});
  return {
    laterVisitors: tally([...new Set(later.map((v) => Number(v.delivery_id)))].map((id) => armOf.get(id)!)),
    callers: tally(
      deliveries
        .filter(
          (d) =>
            d.status === 'sent' &&
            calls.some(
              (c) =>
                Number(c.subscriber_id) === Number(d.subscriber_id) &&
                Number(c.at) >= SENT &&
                Number(c.at) < SENT + 7 * DAY,
            ),
        )
        .map((d) => d.arm!),
    ),
    signups: tally(
      signups.filter((s) => s.source_delivery_id !== null).map((s) => armOf.get(Number(s.source_delivery_id))!),
    ),
  };
}

const figures = async (db: DB, issueId: number) => {
  const report = (await experimentReport(db, issueId, { now: NOW }))!;
  const pick = (f: (a: (typeof report.arms)[number]) => number) =>
    Object.fromEntries(report.arms.map((a) => [a.arm, f(a)]).filter(([, n]) => n !== 0));
  return {
    report,
    counts: {
      laterVisitors: pick((a) => a.laterVisitors.count),
      callers: pick((a) => a.callers.count),
      signups: pick((a) => a.signups.count),
    },
    events: { laterVisits: pick((a) => a.laterVisits), callsMatched: pick((a) => a.callsMatched) },
  };
};

describeEachDatabase(
  'per-arm later visitors, callers and signups they referred: rates with intervals, equal to raw rows',
  (db) => {
    let seeded: Seeded;
    beforeAll(async () => {
      seeded = await seed(db());
    }, 60_000);

    it('each is people per 100 delivered with its Wilson interval, the events beside them; equal to a direct count of raw rows', async () => {
      const { report, counts, events } = await figures(db(), seeded.issue.issueId);
      expect(counts).toEqual({
        laterVisitors: { A: 1, B: 1 },
        callers: { A: 1, B: 1 },
        signups: { A: 1, B: 1 },
      });
      expect(counts).toEqual(await directCounts(db(), seeded.issue.issueId));
      // Events: a0's two later visits are one person; B[0]'s two calls one caller; the held out's call is in no rate.
      expect(events).toEqual({ laterVisits: { A: 2, B: 1 }, callsMatched: { A: 1, B: 2, holdout: 1 } });
      const [a, , , held] = report.arms;
      // Wilson 1 of 4: centre = (0.25 + 0.480182) / 1.960365 = 0.372473; half = 0.999796 × √(0.046875 + 0.060023) = 0.326886
      for (const m of [a!.laterVisitors, a!.callers, a!.signups]) {
        expect(m.rate).toBe(0.25);
        expect(m.low).toBeCloseTo(0.045587, 5);
        expect(m.high).toBeCloseTo(0.699359, 5);
      }
      expect(held!.callers).toEqual({ count: 0, rate: null, low: 0, high: 1 });
      // The JSON carries the same, people and events apart.
      const json = experimentJson(report).arms[0]!;
      expect(json.later_visitors).toEqual({
        count: 1,
        rate: 0.25,
        low: a!.laterVisitors.low,
        high: a!.laterVisitors.high,
      });
      expect([json.later_visits, json.callers.count, json.calls_matched, json.signups.count]).toEqual([2, 1, 1, 1]);
      // The issue's own signups: f1, f2 and f3 (the campaign's, in no arm); f4 never confirmed.
      const [row] = await compareIssues(db(), { now: NOW, issueIds: [seeded.issue.issueId] });
      expect(row!.attributedSignups).toBe(3);
    });

    it('a signup stores the click that brought it: the delivery its cookie names, none for the campaign alone', async () => {
      const rows = await db()
        .selectFrom('subscribers')
        .select(['email', 'source_issue_id', 'source_delivery_id'])
        .where('email', 'in', ['f1@example.com', 'f3@example.com'])
        .orderBy('email')
        .execute();
      expect(
        rows.map((r) => [r.email, Number(r.source_issue_id), r.source_delivery_id && Number(r.source_delivery_id)]),
      ).toEqual([
        ['f1@example.com', seeded.issue.issueId, seeded.arms.A[3]!.deliveryId],
        ['f3@example.com', seeded.issue.issueId, null],
      ]);
    });

    it('the re-labelled later visit leaves B; erasing f2 keeps B’s signup (counted when confirmed); pruning leaves the people with the stored rows', async () => {
      await sweep(db(), seeded, SENT);
      let { counts } = await figures(db(), seeded.issue.issueId);
      expect(counts.laterVisitors).toEqual({ A: 1 });
      expect(counts).toEqual(await directCounts(db(), seeded.issue.issueId));
      const f2 = await db()
        .selectFrom('subscribers')
        .select('id')
        .where('email', '=', 'f2@example.com')
        .executeTakeFirstOrThrow();
      await eraseSubscriber(db(), Number(f2.id), NOW);
      ({ counts } = await figures(db(), seeded.issue.issueId));
      expect(counts.signups).toEqual({ A: 1, B: 1 });
      await pruneRawEvents(db(), NOW + 10_000 * DAY);
      const after = await figures(db(), seeded.issue.issueId);
      expect(after.counts.laterVisitors).toEqual({});
      expect(after.events.laterVisits).toEqual({ A: 2 });
      expect(after.counts.signups).toEqual({ A: 1, B: 1 });
    });
  },
);
