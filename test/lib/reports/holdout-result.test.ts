import { beforeAll, expect, it } from 'vitest';
import type { DB } from '#lib/db/database.ts';
import { experimentReport } from '#lib/reports/experiment-report.service.ts';
import { holdoutResult, outcomeResult, HOLDOUT_WINDOW_MS } from '#lib/reports/holdout-result.service.ts';
import { eraseSubscriber } from '#lib/subscribers/subscribers.service.ts';
import { recordClick } from '#lib/tracking/tracking.service.ts';
import { recordPageView } from '#lib/analytics/page-views.service.ts';
import { VisitorHasher } from '#lib/analytics/visitor-hash.service.ts';
import { readerCookieValue, readReader } from '#lib/tracking/reader-cookie.ts';
import { compareIssues } from '#lib/reports/issue-report.service.ts';
import { COMPARISON_COLUMNS, incrementalText } from '#lib/reports/comparison-table.ts';
import { experimentJson } from '#lib/reports/report-json.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedDelivery, seedIssue, TEST_SECRET } from '../../helpers/tracking.ts';
import { trackingApp } from '../../helpers/networks.ts';
import { insertHoldoutExperiment, insertMatchedCall } from '../../helpers/experiments.ts';
import { Browser } from '../../helpers/cookie-browser.ts';

/**
 * The holdout result (issue 19) through real tracking: readers click an earlier issue (the reader
 * cookie is set, `reader_known_at` recorded), later page views carry the cookie and their visits
 * name the reader; calls are matched by subscriber. The figures equal a direct count of raw rows,
 * before and after a subscriber's erasure.
 *
 *   person  arm      known before the send   visits in the window            phone set   calls in the window
 *   r0      rest     yes (clicked E −5 d)    through X's own link, +1 h       −10 d       1 (+2 h)
 *   r1      rest     yes                     '/' at +2 d                      −10 d       1 before the send only
 *   r2      rest     yes                     '/' at +8 d (after the window)   –
 *   r3      rest     yes                     '/' at +3 d                      +2 h        1 (+1 d)
 *   r4      rest     no: first click +1 h    '/' at +1 d (not identifiable)   –
 *   r5      rest     no                      –                                –
 *   h0      holdout  yes                     '/' at +1 d                      −10 d       1 undone
 *   h1      holdout  yes                     '/' at −1 d (before the send)    +1 d        1 (+3 d)
 *   h2      holdout  no                      –                                −10 d       1 (+1 d)
 *   h3      holdout  no                      –                                –
 *
 * Visits: recipients 3 of 4 identifiable (r0, r1, r3), held out 1 of 2 (h0): 750 − 500 = 250 per 1,000.
 * Calls: recipients 1 of 2 with a phone on file before the send (r0), held out 1 of 2 (h2): 0 per
 * 1,000. r3 and h1 had their number added after the send (perhaps because they called): they are
 * not identifiable, and their calls count only as calls matched to their arm.
 */
const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;
const SENT = Date.UTC(2026, 10, 24, 10, 0);
const SITE = 'http://127.0.0.1:4321';

type Person = 'r0' | 'r1' | 'r2' | 'r3' | 'r4' | 'r5' | 'h0' | 'h1' | 'h2' | 'h3';
const PEOPLE: Person[] = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'h0', 'h1', 'h2', 'h3'];

async function seed(db: DB) {
  const earlier = await seedIssue(db, SITE, SENT - 10 * DAY);
  const issue = await seedIssue(db, SITE, SENT - DAY);
  await db.updateTable('sends').set({ started_at: SENT }).where('issue_id', '=', issue.issueId).execute();
  const ids = {} as Record<Person, { subscriberId: number; earlier: number; delivery: number }>;
  for (const p of PEOPLE) {
    const e = await seedDelivery(db, earlier.issueId, SENT - 10 * DAY);
    const held = p.startsWith('h');
    const d = await db
      .insertInto('deliveries')
      .values({
        issue_id: issue.issueId,
        subscriber_id: e.subscriberId,
        status: held ? 'held_out' : 'sent',
        next_attempt_at: SENT,
        sent_at: held ? null : SENT,
        created_at: SENT,
        arm: held ? 'holdout' : 'rest',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[p] = { subscriberId: e.subscriberId, earlier: e.deliveryId, delivery: Number(d.id) };
  }
  await insertHoldoutExperiment(db, issue.issueId, { holdoutShare: 0.4, rest: 6, holdout: 4, createdAt: SENT - DAY });

  const app = trackingApp(db);
  const deps = {
    pageViews: app.pageViews,
    visitors: new VisitorHasher(db),
    attribution: { secret: TEST_SECRET, attributionWindowDays: () => 7 },
    networks: app.networks,
  };
  const browsers = {} as Record<Person, Browser>;
  PEOPLE.forEach((p, i) => (browsers[p] = new Browser(`81.2.4.${10 + i}`)));
  const view = (p: Person, path: string, at: number) =>
    recordPageView(
      deps,
      {
        url: path,
        referrer: undefined,
        userAgent: browsers[p].userAgent,
        ownHost: new URL(SITE).host,
        ip: browsers[p].ip,
        cookie: browsers[p].header,
      },
      at,
    );
  const click = async (p: Person, deliveryId: number, linkId: number, at: number, url: string) => {
    const clicked = await recordClick(
      app,
      { deliveryId, linkId, userAgent: browsers[p].userAgent, ip: browsers[p].ip },
      at,
    );
    browsers[p].take(clicked?.setCookie);
    const u = new URL(url);
    await view(p, u.pathname + u.search, at + 800);
  };
  for (const p of ['r0', 'r1', 'r2', 'r3', 'h0', 'h1'] as const)
    await click(p, ids[p].earlier, earlier.links.site.id, SENT - 5 * DAY, earlier.links.site.url);
  await click('r4', ids.r4.earlier, earlier.links.site.id, SENT + H, earlier.links.site.url);
  await click('r0', ids.r0.delivery, issue.links.site.id, SENT + H, issue.links.site.url);
  const later: [Person, number][] = [
    ['r1', SENT + 2 * DAY],
    ['r2', SENT + 8 * DAY],
    ['r3', SENT + 3 * DAY],
    ['r4', SENT + DAY],
    ['h0', SENT + DAY],
    ['h1', SENT - DAY],
  ];
  for (const [p, at] of later) await view(p, '/', at);
  await app.writer.close();

  const phones: [Person, number][] = [
    ['r0', SENT - 10 * DAY],
    ['r1', SENT - 10 * DAY],
    ['r3', SENT + 2 * H],
    ['h0', SENT - 10 * DAY],
    ['h1', SENT + DAY],
    ['h2', SENT - 10 * DAY],
  ];
  for (const [p, at] of phones)
    await db
      .updateTable('subscribers')
      .set({ phone_hash: `hash-${p}`, phone_set_at: at })
      .where('id', '=', ids[p].subscriberId)
      .execute();
  const call = (subscriberId: number | null, at: number, undone = false) =>
    insertMatchedCall(db, subscriberId, at, undone);
  await call(ids.r0.subscriberId, SENT + 2 * H);
  await call(ids.r1.subscriberId, SENT - DAY);
  await call(ids.h0.subscriberId, SENT + H, true);
  await call(ids.h2.subscriberId, SENT + DAY);
  await call(ids.r3.subscriberId, SENT + DAY);
  await call(ids.h1.subscriberId, SENT + 3 * DAY);
  await call(null, SENT + H);
  return { issue, ids, browsers };
}

/** Per arm from raw rows, counted in the test: identifiable people and those with the outcome. */
async function directCounts(db: DB, issueId: number) {
  const deliveries = await db
    .selectFrom('deliveries')
    .select(['arm', 'subscriber_id'])
    .where('issue_id', '=', issueId)
    .execute();
  const subscribers = new Map(
    (await db.selectFrom('subscribers').select(['id', 'reader_known_at', 'phone_hash', 'phone_set_at']).execute()).map(
      (s) => [Number(s.id), s],
    ),
  );
  const visits = await db.selectFrom('visits').select(['reader_subscriber_id', 'started_at']).execute();
  const calls = await db.selectFrom('offline_events').select(['subscriber_id', 'at', 'kind', 'undone_at']).execute();
  const out: Record<string, [number, number, number, number]> = {};
  for (const d of deliveries) {
    const s = subscribers.get(Number(d.subscriber_id));
    const row = (out[d.arm!] ??= [0, 0, 0, 0]);
    const inWindow = (at: number) => at >= SENT && at < SENT + HOLDOUT_WINDOW_MS;
    if (s && s.reader_known_at !== null && Number(s.reader_known_at) < SENT) {
      row[0]++;
      if (visits.some((v) => Number(v.reader_subscriber_id) === Number(s.id) && inWindow(Number(v.started_at))))
        row[1]++;
    }
    if (s?.phone_hash && s.phone_set_at !== null && Number(s.phone_set_at) < SENT) {
      row[2]++;
      if (
        calls.some(
          (c) =>
            c.kind === 'call' &&
            c.undone_at === null &&
            Number(c.subscriber_id) === Number(s.id) &&
            inWindow(Number(c.at)),
        )
      )
        row[3]++;
    }
  }
  return out;
}

async function figures(db: DB, issueId: number) {
  const r = (await holdoutResult(db, issueId, SENT + 10 * DAY))!;
  const out: Record<string, [number, number, number, number]> = {};
  for (const a of r.visits.arms) out[a.arm] = [a.identifiable, a.people, 0, 0];
  for (const a of r.calls.arms) {
    out[a.arm]![2] = a.identifiable;
    out[a.arm]![3] = a.people;
  }
  return { r, out };
}

describeEachDatabase('the holdout result equals raw counts, also after erasure', (db) => {
  let seeded: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    seeded = await seed(db());
  }, 60_000);

  it('the reader cookie is set on a reader’s click, names the subscriber, lasts 400 days; reader_known_at is the first click', async () => {
    const value = readerCookieValue(seeded.browsers.r0.header);
    expect(readReader(TEST_SECRET, value, SENT + 2 * H)).toEqual({
      subscriberId: seeded.ids.r0.subscriberId,
      at: SENT + H,
    });
    expect(readReader('another-secret'.padEnd(48, 'y'), value, SENT)).toBeUndefined();
    const rows = await db()
      .selectFrom('subscribers')
      .select(['id', 'reader_known_at'])
      .where('id', 'in', [seeded.ids.r0.subscriberId, seeded.ids.r4.subscriberId, seeded.ids.h2.subscriberId])
      .execute();
    const known = new Map(
      rows.map((r) => [Number(r.id), r.reader_known_at === null ? null : Number(r.reader_known_at)]),
    );
    expect(known.get(seeded.ids.r0.subscriberId)).toBe(SENT - 5 * DAY);
    expect(known.get(seeded.ids.r4.subscriberId)).toBe(SENT + H);
    expect(known.get(seeded.ids.h2.subscriberId)).toBeNull();
  });

  it('identifiable shares, rates, the effect per 1,000 with its interval and the sentence; equal to raw rows', async () => {
    const { r, out } = await figures(db(), seeded.issue.issueId);
    expect(out).toEqual({ rest: [4, 3, 2, 1], holdout: [2, 1, 2, 1] });
    expect(out).toEqual(await directCounts(db(), seeded.issue.issueId));
    expect(r.visits.arms.map((a) => [a.arm, a.size, a.identifiableShare])).toEqual([
      ['rest', 6, 4 / 6],
      ['holdout', 4, 0.5],
    ]);
    expect(r.visits.effect!.difference).toBeCloseTo(250, 6);
    // Newcombe: Wilson 3/4 (0.300642, 0.954413), 1/2 (0.094531, 0.905469):
    // low = 0.25 − √(0.449358² + 0.405469²) = −0.355250; high = 0.25 + √(0.204413² + 0.405469²) = 0.704081
    expect(r.visits.effect!.low).toBeCloseTo(-355.25, 1);
    expect(r.visits.effect!.high).toBeCloseTo(704.08, 1);
    expect(r.visits.sentence).toBe(
      'There were 250.0 more visitors per 1,000 recipients whose browser was known before the send than in the held-out group (−355.3 to 704.1): within noise: the data cannot tell the send’s effect from none.',
    );
    expect(r.calls.effect!.difference).toBe(0);
    expect(r.callsByArm).toEqual([
      { arm: 'rest', calls: 2 },
      { arm: 'holdout', calls: 2 },
    ]);
    expect(r.complete).toBe(true);
    const report = (await experimentReport(db(), seeded.issue.issueId, { now: SENT + 10 * DAY }))!;
    expect(report.holdoutResult?.visits.effect?.difference).toBeCloseTo(250, 6);
    expect(report.arms.map((a) => [a.arm, a.callsMatched])).toEqual([
      ['rest', 2],
      ['holdout', 2],
    ]);
    // The reports JSON and the comparison page carry the same figures.
    const json = experimentJson(report).holdout_result!;
    expect(json.visits.arms.map((a) => [a.arm, a.identifiable, a.size, a.people])).toEqual([
      ['rest', 4, 6, 3],
      ['holdout', 2, 4, 1],
    ]);
    expect(json.visits.effect_per_1000!.difference).toBeCloseTo(250, 6);
    expect(json.not_compared).toMatch(/^Walk-ins, calls from numbers not on file, and door counts/);
    const [row] = await compareIssues(db(), { now: SENT + 10 * DAY, issueIds: [seeded.issue.issueId] });
    expect(incrementalText(row!.holdoutVisits)).toBe('250.0 (−355.3 to 704.1)');
    const column = COMPARISON_COLUMNS.find((c) => c.key === 'incremental-visitors')!;
    expect(column.value(row!)).toBe('250.0 (−355.3 to 704.1)');
    // Calls: 1 of 2 against 1 of 2 — Wilson 1/2 (0.094531, 0.905469): 0 ± √(2 × 0.405469²) = ±0.573422.
    expect(COMPARISON_COLUMNS.find((c) => c.key === 'incremental-callers')!.value(row!)).toBe('0.0 (−573.4 to 573.4)');
    expect(json.calls.effect_per_1000).toEqual(row!.holdoutCalls);
  });

  it('after erasing r1 their visits are unlinked and they leave the figures; still equal to raw rows', async () => {
    await eraseSubscriber(db(), seeded.ids.r1.subscriberId);
    const linked = await db()
      .selectFrom('visits')
      .select('id')
      .where('reader_subscriber_id', '=', seeded.ids.r1.subscriberId)
      .execute();
    expect(linked).toEqual([]);
    const { out } = await figures(db(), seeded.issue.issueId);
    expect(out).toEqual({ rest: [3, 2, 1, 1], holdout: [2, 1, 2, 1] });
    expect(out).toEqual(await directCounts(db(), seeded.issue.issueId));
  });
});

it('nobody identifiable in a group: no incremental figure, and it says why', () => {
  const r = outcomeResult('visits', [
    { arm: 'rest', size: 10, identifiable: 3, people: 1 },
    { arm: 'holdout', size: 2, identifiable: 0, people: 0 },
  ]);
  expect(r.effect).toBeNull();
  expect(r.sentence).toBe(
    'Nobody in the held-out group is identifiable (people whose browser was known before the send): no incremental figure.',
  );
  expect(r.heldOut).toMatchObject({ identifiableShare: 0, rate: null, low: 0, high: 1 });
});
