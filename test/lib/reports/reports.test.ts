import { beforeAll, expect, it } from 'vitest';
import type { DB } from '#lib/db/database.ts';
import { EventWriter } from '#lib/events/event-writer.ts';
import { VisitTracker, type PageViewEvent } from '#lib/analytics/visits.ts';
import { clickInserter, openInserter, type NewClick, type NewOpen } from '../../helpers/event-rows.ts';
import { defaultSettings, saveSettings } from '#lib/settings/settings.service.ts';
import { storeOfflineEvent } from '#lib/offline/offline-counts.ts';
import { removeOfflineEvent } from '#lib/offline/offline-events.service.ts';
import { eraseSubscriber, unsubscribe } from '#lib/subscribers/subscribers.service.ts';
import { compareIssues, issueReport, CURVE_HOURS } from '#lib/reports/issue-report.service.ts';
import { siteReport } from '#lib/reports/site-report.service.ts';
import { pruneRawEvents } from '#lib/reports/retention.service.ts';
import { weekHourOf } from '#lib/reports/week-hour.ts';
import { dayOf } from '#lib/time/zoned-time.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { Random } from '../../../src/demo/random.ts';
import { migrateDown, migrateToLatest } from '#lib/db/migrate.ts';
import { seedDelivery, seedIssue, type SeededIssue } from '../../helpers/tracking.ts';
import { pageViewEvent } from '../../helpers/reports.ts';

/**
 * Every report figure equals a direct count over the raw rows of a generated data set, in a
 * time zone whose clocks go back during the week after the send (New York, 1 November 2026);
 * pruning every raw row and erasing a subscriber then change no figure.
 */
const TZ = 'America/New_York';
const H = 3_600_000;
const DAY = 24 * H;
const Q = 15 * 60_000;
// Saturday 31 October 2026, 09:07 in New York (EDT); clocks go back the next night.
const SENT_A = Date.UTC(2026, 9, 31, 13, 7);
const SENT_B = SENT_A - 14 * DAY;
const NOW = SENT_A + 10 * DAY;
const SITE_URL = 'https://frobozz.example';

interface Generated {
  a: SeededIssue;
  b: SeededIssue;
  subscribers: { issueId: number; subscriberId: number }[];
}

async function generate(db: DB): Promise<Generated> {
  const stream = new Random(42);
  const random = () => stream.next();
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const saved = await saveSettings(
    db,
    {
      ...defaultSettings({ siteUrl: SITE_URL, mail: { from: 'news@frobozz.example' } }),
      postalAddress: '12 Flathead Row, Port Foozle',
      timeZone: TZ,
      attributionWindowDays: 7,
    },
    null,
    SENT_B - 60 * DAY,
  );
  if (!saved.ok) throw new Error(`settings refused: ${JSON.stringify(saved.errors)}`);
  const user = await db
    .insertInto('users')
    .values({
      email: 'tally@frobozz.example',
      name: 'Tally',
      role: 'marketer',
      status: 'active',
      password_hash: 'x',
      created_at: SENT_B,
      updated_at: SENT_B,
      last_login_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const userId = Number(user.id);
  const pageViews = new VisitTracker().inserter;
  const writer = new EventWriter(
    db,
    { pageViews, opens: openInserter, clicks: clickInserter },
    { maxWaitMs: 0, maxBatch: 200 },
  );
  const opens: NewOpen[] = [];
  const clicks: NewClick[] = [];
  const views: PageViewEvent[] = [];
  const subscribers: Generated['subscribers'] = [];
  let visitorSeq = 0;
  const view = (at: number, path: string, extra: Partial<PageViewEvent> = {}): PageViewEvent =>
    pageViewEvent(at, path, `v${visitorSeq}`, extra);

  const issues: SeededIssue[] = [];
  for (const sentAt of [SENT_B, SENT_A]) {
    const issue = await seedIssue(db, SITE_URL, sentAt);
    await db.updateTable('sends').set({ started_at: sentAt }).where('issue_id', '=', issue.issueId).execute();
    issues.push(issue);
    const linkIds = [issue.links.site.id, issue.links.external.id, issue.links.tel.id];
    for (let i = 0; i < 40; i++) {
      const { deliveryId, subscriberId } = await seedDelivery(db, issue.issueId, sentAt);
      subscribers.push({ issueId: issue.issueId, subscriberId });
      const base = { issue_id: issue.issueId, delivery_id: deliveryId, subscriber_id: subscriberId };
      if (random() < 0.3)
        opens.push({
          ...base,
          at: sentAt + Math.floor(random() * 300_000),
          class: 'apple_mpp',
          reason: 'Apple prefetch',
        });
      if (random() < 0.1)
        opens.push({ ...base, at: sentAt + Math.floor(random() * 6 * H), class: 'proxy', reason: 'Gmail image proxy' });
      if (i === 0) {
        // A scanner: its open and its sweep of three links.
        opens.push({ ...base, at: sentAt + 10_000, class: 'scanner', reason: 'a sandbox' });
        clicks.push({ ...base, link_id: linkIds[0]!, at: sentAt + 20_000, class: 'bot', reason: 'a sandbox' });
        clicks.push({ ...base, link_id: linkIds[1]!, at: sentAt + 20_300, class: 'bot', reason: 'a sandbox' });
        clicks.push({
          ...base,
          link_id: linkIds[2]!,
          at: sentAt + 20_600,
          class: 'bot',
          reason: 'a sandbox: 3 links in 1 s',
        });
        continue;
      }
      if (i === 1)
        clicks.push({
          ...base,
          link_id: issue.links.honeypot.id,
          at: sentAt + 90_000,
          class: 'bot',
          reason: 'honeypot',
        });
      if (random() < 0.6) {
        const openedAt = sentAt + Math.floor(-Math.log(1 - random()) * 14 * H);
        opens.push({ ...base, at: openedAt, class: 'human', reason: 'reader' });
        if (random() < 0.3)
          opens.push({ ...base, at: openedAt + Math.floor(random() * 3 * DAY), class: 'human', reason: 'reader' });
        if (random() < 0.45) {
          const clickedAt = openedAt + 60_000 + Math.floor(random() * 30 * 60_000);
          const linkId = pick(linkIds.slice(0, 2));
          clicks.push({ ...base, link_id: linkId, at: clickedAt, class: 'human', reason: 'reader' });
          if (random() < 0.3)
            clicks.push({ ...base, link_id: linkId, at: clickedAt + 40 * 60_000, class: 'human', reason: 'reader' });
          visitorSeq++;
          const attribution = { issueId: issue.issueId, deliveryId, subscriberId, at: clickedAt };
          views.push(
            view(clickedAt + 3_000, '/articles/widget-batteries-explained/', {
              attribution,
              utm_campaign: issue.slug,
              utm_source: 'newsletter',
              utm_medium: 'email',
            }),
          );
          views.push(view(clickedAt + 90_000, '/articles/', { attribution }));
          views.push(view(clickedAt + 200_000, '/articles/choosing-a-widget/', { attribution }));
          if (random() < 0.5) views.push(view(clickedAt + DAY + Math.floor(random() * 5 * H), '/', { attribution }));
        }
      }
    }
  }
  // Site traffic from six weeks before the first send to a week after the last, bots among it.
  for (let i = 0; i < 400; i++) {
    visitorSeq++;
    const at = SENT_B - 42 * DAY + Math.floor(random() * 63 * DAY);
    const r = random();
    const extra: Partial<PageViewEvent> =
      r < 0.2
        ? { referrer_host: pick(['www.google.com', 'duckduckgo.com', 'forum.example']) }
        : r < 0.25
          ? { utm_campaign: issues[1]!.slug }
          : r < 0.3
            ? { is_bot: 1 }
            : {};
    views.push(view(at, pick(['/', '/articles/', '/articles/widget-batteries-explained/', '/subscribe/']), extra));
    if (random() < 0.4)
      views.push(view(at + 120_000, '/articles/choosing-a-widget/', extra.is_bot ? { is_bot: 1 } : {}));
  }

  await Promise.all(opens.sort((x, y) => x.at - y.at).map((o) => writer.write(openInserter, o)));
  for (const c of clicks.sort((x, y) => x.at - y.at)) await writer.write(clickInserter, c);
  await Promise.all(views.sort((x, y) => x.at - y.at).map((v) => writer.write(pageViews, v)));
  await writer.close();

  // Calls and walk-ins over the same nine weeks; two removed again, three credited to issue A.
  const stored: number[] = [];
  for (let i = 0; i < 150; i++) {
    const at = SENT_B - 42 * DAY + Math.floor(random() * 63 * DAY);
    const row = await storeOfflineEvent(db, {
      kind: random() < 0.6 ? 'call' : 'walk_in',
      at,
      recorded_at: at,
      source: 'manual',
      recorded_by: userId,
      mentioned_newsletter: random() < 0.2 ? 1 : 0,
      note: null,
      client_id: `gen-${i}`,
      issue_id: i < 3 ? issues[1]!.issueId : null,
    });
    stored.push(Number(row!.id));
  }
  await removeOfflineEvent(db, stored[10]!, userId, NOW);
  await removeOfflineEvent(db, stored[11]!, userId, NOW);
  // Two readers of issue A unsubscribe from its footer.
  const fromA = subscribers.filter((s) => s.issueId === issues[1]!.issueId);
  await unsubscribe(db, fromA[5]!.subscriberId, { method: 'one-click', issueId: issues[1]!.issueId }, SENT_A + 5 * H);
  await unsubscribe(db, fromA[6]!.subscriberId, { method: 'one-click', issueId: issues[1]!.issueId }, SENT_A + 30 * H);
  return { a: issues[1]!, b: issues[0]!, subscribers };
}

const num = (v: unknown) => Number(v);

describeEachDatabase('reports equal direct counts over raw rows; pruning and erasure change nothing', (db) => {
  let data: Generated;
  beforeAll(async () => {
    data = await generate(db());
  }, 120_000);

  it('comparison row: deliveries, unique opens/clicks, visits, calls, unsubscribes', async () => {
    const rows = await compareIssues(db(), { now: NOW });
    expect(rows.map((r) => r.issueId)).toEqual([data.a.issueId, data.b.issueId]);
    for (const row of rows) {
      const id = row.issueId;
      const opens = await db()
        .selectFrom('opens')
        .select(['delivery_id', 'class', 'at'])
        .where('issue_id', '=', id)
        .execute();
      const clicks = await db()
        .selectFrom('clicks')
        .select(['delivery_id', 'class', 'link_id'])
        .where('issue_id', '=', id)
        .execute();
      const visits = await db()
        .selectFrom('visits')
        .select(['is_later', 'delivery_id'])
        .where('issue_id', '=', id)
        .execute();
      expect(row.recipients).toBe(40);
      expect(row.delivered).toBe(40);
      expect(row.uniqueOpens).toBe(new Set(opens.map((o) => num(o.delivery_id))).size);
      expect(row.uniqueHumanOpens).toBe(
        new Set(opens.filter((o) => o.class === 'human' || o.class === 'proxy').map((o) => num(o.delivery_id))).size,
      );
      expect(row.uniqueHumanClicks).toBe(
        new Set(clicks.filter((c) => c.class === 'human').map((c) => num(c.delivery_id))).size,
      );
      expect(row.attributedVisits).toBe(visits.length);
      expect(row.laterVisits).toBe(visits.filter((v) => num(v.is_later) === 1).length);
      expect(row.uniqueVisitors).toBe(
        new Set(visits.filter((v) => v.delivery_id !== null).map((v) => num(v.delivery_id))).size,
      );
      const sentQ = row.sentAt - (row.sentAt % Q);
      const offline = await db()
        .selectFrom('offline_events')
        .select(['kind', 'at', 'issue_id'])
        .where('undone_at', 'is', null)
        .execute();
      const inWindow = offline.filter((e) => num(e.at) >= sentQ && num(e.at) < sentQ + 7 * DAY);
      expect(row.callsInWindow).toBe(inWindow.filter((e) => e.kind === 'call').length);
      expect(row.walkInsInWindow).toBe(inWindow.filter((e) => e.kind === 'walk_in').length);
      expect(row.creditedCalls + row.creditedWalkIns).toBe(offline.filter((e) => num(e.issue_id) === id).length);
      const unsubscribes = await db()
        .selectFrom('subscriber_events')
        .select('detail')
        .where('kind', '=', 'unsubscribed')
        .execute();
      expect(row.unsubscribes).toBe(unsubscribes.filter((e) => JSON.parse(String(e.detail)).issue === id).length);
    }
    const a = rows[0]!;
    expect(a.uniqueOpens).toBeGreaterThan(a.uniqueHumanOpens);
    expect(a.laterVisits).toBeGreaterThan(0);
    expect(a.unsubscribes).toBe(2);
    expect(a.creditedCalls + a.creditedWalkIns).toBe(3);
  });

  it('issue report: curves by hour since send, heatmaps by weekday × hour across the clock change, links, machine activity, lift', async () => {
    const report = (await issueReport(db(), data.a.issueId, { now: NOW }))!;
    const sentQ = SENT_A - (SENT_A % Q);
    const opens = (
      await db()
        .selectFrom('opens')
        .select(['delivery_id', 'class', 'at'])
        .where('issue_id', '=', data.a.issueId)
        .execute()
    ).map((o) => ({ ...o, at: num(o.at), delivery_id: num(o.delivery_id) }));
    const clicks = (
      await db()
        .selectFrom('clicks')
        .select(['delivery_id', 'class', 'link_id', 'at'])
        .where('issue_id', '=', data.a.issueId)
        .execute()
    ).map((c) => ({ ...c, at: num(c.at), link_id: num(c.link_id), delivery_id: num(c.delivery_id) }));

    // Curves: cumulative unique likely-human openers at the end of each hour after the send's quarter hour.
    const firstHuman = new Map<number, number>();
    for (const o of opens)
      if (o.class === 'human' || o.class === 'proxy')
        firstHuman.set(o.delivery_id, Math.min(firstHuman.get(o.delivery_id) ?? Infinity, o.at));
    const curve = report.curves.find((c) => c.key === 'uniqueHumanOpens')!;
    expect(curve.points).toHaveLength(CURVE_HOURS);
    for (const [hour, value] of curve.points)
      expect([hour, value]).toEqual([hour, [...firstHuman.values()].filter((at) => at < sentQ + hour * H).length]);
    const visits = (
      await db().selectFrom('visits').select(['started_at']).where('issue_id', '=', data.a.issueId).execute()
    ).map((v) => num(v.started_at));
    const visitCurve = report.curves.find((c) => c.key === 'attributedVisits')!;
    for (const [hour, value] of visitCurve.points)
      expect(value).toBe(visits.filter((at) => at >= sentQ && at < sentQ + hour * H).length);

    // Heatmaps in New York time: the week holds EDT and EST hours.
    const expected = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
    for (const o of opens)
      if (o.class === 'human' || o.class === 'proxy') {
        const { row, hour } = weekHourOf(o.at, TZ);
        expected[row]![hour]! += 1;
      }
    expect(report.heatmaps.find((h) => h.key === 'opens')!.values).toEqual(expected);
    const calls = (
      await db()
        .selectFrom('offline_events')
        .select(['at'])
        .where('kind', '=', 'call')
        .where('undone_at', 'is', null)
        .execute()
    )
      .map((e) => num(e.at))
      .filter((at) => at >= sentQ && at < sentQ + 7 * DAY);
    const callMatrix = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
    for (const at of calls) {
      const { row, hour } = weekHourOf(at, TZ);
      callMatrix[row]![hour]! += 1;
    }
    expect(report.heatmaps.find((h) => h.key === 'calls')!.values).toEqual(callMatrix);

    // Links: human and bot clicks, unique human clickers; the scanner's clicks are all bot clicks.
    for (const link of report.links) {
      const of = clicks.filter((c) => c.link_id === link.id);
      expect([link.humanClicks, link.botClicks, link.uniqueClickers]).toEqual([
        of.filter((c) => c.class === 'human').length,
        of.filter((c) => c.class === 'bot').length,
        new Set(of.filter((c) => c.class === 'human').map((c) => c.delivery_id)).size,
      ]);
    }
    expect(report.links.find((l) => l.kind === 'honeypot')!.botClicks).toBe(1);
    const byClass = (c: string) => opens.filter((o) => o.class === c).length;
    expect(report.machine).toEqual({
      appleMppOpens: byClass('apple_mpp'),
      proxyOpens: byClass('proxy'),
      scannerOpens: byClass('scanner'),
      humanOpens: byClass('human'),
      botClicks: clicks.filter((c) => c.class === 'bot').length,
      humanClicks: clicks.filter((c) => c.class === 'human').length,
      machineViews: 0, // classified rows written as they are: no page view of a machine, no owner
      byOwner: [],
    });
    expect(report.machine.scannerOpens).toBe(1);

    // Lift: the observed count is the site's visits in the 24 h after the send's quarter hour.
    const allVisits = (await db().selectFrom('visits').select('started_at').execute()).map((v) => num(v.started_at));
    const visitLift = report.lift.find((l) => l.metric === 'visit')!;
    expect(visitLift.h24.observed).toBe(allVisits.filter((at) => at >= sentQ && at < sentQ + DAY).length);
    expect(visitLift.h72.weeksExcluded.map((w) => w.weeksBack)).toContain(2); // issue B went out two weeks before
    for (const lift of [visitLift.h24, visitLift.h72]) {
      expect(lift.baseline.length).toBeGreaterThan(0);
      for (const week of lift.baseline)
        expect([week.weeksBack, week.count]).toEqual([
          week.weeksBack,
          allVisits.filter((at) => at >= week.from && at < week.to).length,
        ]);
    }
    expect(visitLift.h24.sentence).toMatch(/visits/);
  });

  it('site report: daily visits and page views in the site time zone, top pages and sources', async () => {
    const report = await siteReport(
      db(),
      { fromDay: dayOf(SENT_B - 42 * DAY, TZ), toDay: dayOf(SENT_A + 8 * DAY, TZ) },
      { now: NOW },
    );
    const visits = (await db().selectFrom('visits').select('started_at').execute()).map((v) =>
      dayOf(num(v.started_at), TZ),
    );
    for (const day of report.daily)
      expect([day.day, day.visits]).toEqual([day.day, visits.filter((d) => d === day.day).length]);
    const views = await db()
      .selectFrom('page_views')
      .select(['path', 'referrer_host', 'utm_campaign', 'issue_id'])
      .where('is_bot', '=', 0)
      .execute();
    expect(report.totals.pageViews).toBe(views.length);
    for (const page of report.topPages) {
      expect(page.views).toBe(views.filter((v) => v.path === page.path).length);
      expect(page.newsletterViews).toBe(views.filter((v) => v.path === page.path && v.issue_id !== null).length);
    }
    for (const r of report.referrers) expect(r.views).toBe(views.filter((v) => v.referrer_host === r.host).length);
    for (const c of report.campaigns) expect(c.views).toBe(views.filter((v) => v.utm_campaign === c.campaign).length);
    expect(report.sends.map((s) => s.issueId)).toEqual([data.b.issueId, data.a.issueId]);
  });

  it('the migration that created the counts builds the same counts from the raw rows as the writer maintained live', async () => {
    // Unsubscribes have no raw row the migration could count; the fixture's subscribers were inserted confirmed, without the signup service.
    const snapshot = async () =>
      (
        await db()
          .selectFrom('report_counts')
          .selectAll()
          .where('n', '!=', 0)
          .where('metric', 'not like', 'unsubscribe%')
          .where('metric', 'not like', 'signup%')
          .orderBy('issue_id')
          .orderBy('metric')
          .orderBy('dim')
          .orderBy('bucket')
          .execute()
      ).map((r) => `${r.issue_id} ${r.metric} ${r.dim} ${r.bucket} ${r.n}`);
    const clickers = async () =>
      (
        await db()
          .selectFrom('deliveries')
          .select(['id', 'clicked_links'])
          .where('clicked_links', 'is not', null)
          .orderBy('id')
          .execute()
      ).map(
        (r) =>
          `${r.id}: ${r
            .clicked_links!.split(',')
            .filter(Boolean)
            .map(Number)
            .sort((a, b) => a - b)
            .join(' ')}`,
      );
    const live = {
      counts: await snapshot(),
      clickers: await clickers(),
      firsts: await db().selectFrom('deliveries').select(['id', 'first_any_open_at']).orderBy('id').execute(),
    };
    expect(live.counts.length).toBeGreaterThan(1000);
    expect(live.clickers.length).toBeGreaterThan(10);
    // Undo migrations down to (and including) the one that created report_counts, then migrate again: it counts the raw rows once.
    for (;;) {
      const undone = await migrateDown(db());
      if (undone.includes('2026_11_26_220000_create_report_counts')) break;
      if (undone.length === 0) throw new Error('report_counts migration not found');
    }
    await migrateToLatest(db());
    expect(await snapshot()).toEqual(live.counts);
    expect(await clickers()).toEqual(live.clickers);
    expect(await db().selectFrom('deliveries').select(['id', 'first_any_open_at']).orderBy('id').execute()).toEqual(
      live.firsts,
    );
  });

  it('in a half-hour zone (Kolkata, +05:30) the days and the weekday × hour cells are still exact', async () => {
    const settings = {
      ...defaultSettings({ siteUrl: SITE_URL, mail: { from: 'news@frobozz.example' } }),
      postalAddress: '12 Flathead Row, Port Foozle',
      attributionWindowDays: 7,
    };
    await saveSettings(db(), { ...settings, timeZone: 'Asia/Kolkata' }, null, NOW);
    try {
      const report = await siteReport(db(), { fromDay: '2026-09-20', toDay: '2026-11-08' }, { now: NOW });
      const visits = (await db().selectFrom('visits').select('started_at').execute()).map((v) =>
        dayOf(num(v.started_at), 'Asia/Kolkata'),
      );
      for (const day of report.daily)
        expect([day.day, day.visits]).toEqual([day.day, visits.filter((d) => d === day.day).length]);
      const issue = (await issueReport(db(), data.a.issueId, { now: NOW }))!;
      const clicks = (
        await db()
          .selectFrom('clicks')
          .select('at')
          .where('issue_id', '=', data.a.issueId)
          .where('class', '=', 'human')
          .execute()
      ).map((c) => num(c.at));
      const expected = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
      for (const at of clicks) {
        const { row, hour } = weekHourOf(at, 'Asia/Kolkata');
        expected[row]![hour]! += 1;
      }
      expect(issue.heatmaps.find((h) => h.key === 'clicks')!.values).toEqual(expected);
    } finally {
      await saveSettings(db(), { ...settings, timeZone: TZ }, null, NOW);
    }
  });

  it('pruning every raw event and erasing a subscriber leave every figure unchanged', async () => {
    const before = {
      comparison: await compareIssues(db(), { now: NOW }),
      a: await issueReport(db(), data.a.issueId, { now: NOW }),
      b: await issueReport(db(), data.b.issueId, { now: NOW }),
      site: await siteReport(db(), { fromDay: '2026-09-01', toDay: '2026-11-15' }, { now: NOW }),
    };
    const clicker = await db()
      .selectFrom('clicks')
      .select('subscriber_id')
      .where('issue_id', '=', data.a.issueId)
      .where('class', '=', 'human')
      .executeTakeFirstOrThrow();
    const theirDeliveries = (
      await db().selectFrom('deliveries').select('id').where('subscriber_id', '=', num(clicker.subscriber_id)).execute()
    ).map((d) => num(d.id));
    // An open stored with per-person tracking off names the delivery only: it goes too.
    const [unnamed] = theirDeliveries;
    await db()
      .insertInto('opens')
      .values({
        issue_id: data.a.issueId,
        delivery_id: unnamed!,
        subscriber_id: null,
        at: NOW - DAY,
        class: 'human',
        reason: 'reader',
      })
      .execute();
    expect(await eraseSubscriber(db(), num(clicker.subscriber_id), NOW)).toBe(true);
    for (const table of ['opens', 'clicks', 'visits', 'page_views'] as const) {
      expect(
        (await db().selectFrom(table).select('id').where('subscriber_id', '=', num(clicker.subscriber_id)).execute())
          .length,
      ).toBe(0);
    }
    for (const table of ['opens', 'clicks'] as const)
      expect(await db().selectFrom(table).select('id').where('delivery_id', 'in', theirDeliveries).execute()).toEqual(
        [],
      );
    const pruned = await pruneRawEvents(db(), NOW + 800 * DAY);
    expect(pruned.deleted.opens).toBeGreaterThan(0);
    for (const table of ['opens', 'clicks', 'visits', 'page_views', 'offline_events'] as const)
      expect((await db().selectFrom(table).select('id').execute()).length).toBe(0);
    const after = {
      comparison: await compareIssues(db(), { now: NOW }),
      a: await issueReport(db(), data.a.issueId, { now: NOW }),
      b: await issueReport(db(), data.b.issueId, { now: NOW }),
      site: await siteReport(db(), { fromDay: '2026-09-01', toDay: '2026-11-15' }, { now: NOW }),
    };
    expect(after).toEqual(before);
  });
});
