import { beforeAll, expect, it } from 'vitest';
import type { DB } from '#lib/db/database.ts';
import { EventWriter } from '#lib/events/event-writer.ts';
import { VisitTracker, type PageViewEvent } from '#lib/analytics/visits.ts';
import { clickInserter, openInserter, type NewClick, type NewOpen } from '../../helpers/event-rows.ts';
import { defaultSettings, saveSettings } from '#lib/settings/settings.service.ts';
import { storeOfflineEvent } from '#lib/offline/offline-counts.ts';
import { compareIssues, issueReport } from '#lib/reports/issue-report.service.ts';
import { quarterOf } from '#lib/counts/buckets.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedDelivery, seedIssue, type SeededIssue } from '../../helpers/tracking.ts';
import { pageViewEvent } from '../../helpers/reports.ts';

/**
 * The first minutes after a send, counted by hand (issue 17, items 1, 2, 3, 5 and 7), and two
 * issues sent three days apart whose windows would overlap (item 4). Times are passed in.
 *
 * Tuesday 24 November 2026, London (UTC in winter): the issue goes out at 04:54 to three
 * readers; by 04:58 reader 1 opened and clicked, readers 2 and 3 clicked with images off (no
 * pixel), each landed on the site, a friend opened a shared link (the campaign tag, no cookie),
 * 3 calls and 2 walk-ins were tallied. The weeks before: 2 visits and a call in the same
 * quarter-hour each Tuesday, and an issue a week earlier to two readers.
 */
const TZ = 'Europe/London';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const SENT = Date.UTC(2026, 10, 24, 4, 54);
const NOW = Date.UTC(2026, 10, 24, 4, 58);
const SITE_URL = 'https://frobozz.example';
const num = (v: unknown) => Number(v);

interface Seeded {
  issue: SeededIssue;
  earlier: SeededIssue;
}

async function seed(db: DB): Promise<Seeded> {
  await saveSettings(
    db,
    {
      ...defaultSettings({ siteUrl: SITE_URL, mail: { from: 'news@frobozz.example' } }),
      timeZone: TZ,
      attributionWindowDays: 7,
    },
    null,
    SENT - 60 * DAY,
  );
  const user = await db
    .insertInto('users')
    .values({
      email: 'tally@frobozz.example',
      name: 'Tally',
      role: 'marketer',
      status: 'active',
      password_hash: 'x',
      created_at: SENT - 60 * DAY,
      updated_at: SENT - 60 * DAY,
      last_login_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const staff = Number(user.id);
  const sent = async (at: number) => {
    const issue = await seedIssue(db, SITE_URL, at);
    await db.updateTable('sends').set({ started_at: at }).where('issue_id', '=', issue.issueId).execute();
    return issue;
  };
  // A week earlier (Tuesday 17th, 04:50): two readers, one opens within the hour.
  const earlier = await sent(SENT - WEEK - 4 * MINUTE);
  const old = [
    await seedDelivery(db, earlier.issueId, SENT - WEEK - 4 * MINUTE),
    await seedDelivery(db, earlier.issueId, SENT - WEEK - 4 * MINUTE),
  ];
  const issue = await sent(SENT);
  const [d1, d2, d3] = [
    await seedDelivery(db, issue.issueId, SENT),
    await seedDelivery(db, issue.issueId, SENT),
    await seedDelivery(db, issue.issueId, SENT),
  ];

  const of = (i: SeededIssue, d: { deliveryId: number; subscriberId: number }) => ({
    issue_id: i.issueId,
    delivery_id: d.deliveryId,
    subscriber_id: d.subscriberId,
  });
  const opens: NewOpen[] = [
    { ...of(earlier, old[0]!), at: SENT - WEEK + 30 * MINUTE, class: 'human', reason: 'reader' },
    { ...of(issue, d1), at: SENT + MINUTE, class: 'human', reason: 'reader' },
  ];
  const clicks: NewClick[] = [
    { ...of(issue, d1), link_id: issue.links.site.id, at: SENT + 2 * MINUTE, class: 'human', reason: 'reader' },
    {
      ...of(issue, d2),
      link_id: issue.links.site.id,
      at: SENT + 2 * MINUTE + 20_000,
      class: 'human',
      reason: 'reader',
    },
    { ...of(issue, d3), link_id: issue.links.external.id, at: SENT + 3 * MINUTE, class: 'human', reason: 'reader' },
  ];
  const utm = { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: issue.slug };
  const landing = (
    d: { deliveryId: number; subscriberId: number },
    clickedAt: number,
    visitor: string,
  ): PageViewEvent =>
    pageViewEvent(clickedAt + 3_000, '/articles/widget-batteries-explained/', visitor, {
      ...utm,
      attribution: { issueId: issue.issueId, deliveryId: d.deliveryId, subscriberId: d.subscriberId, at: clickedAt },
    });
  const views: PageViewEvent[] = [
    landing(d1, SENT + 2 * MINUTE, 'reader-1'),
    landing(d2, SENT + 2 * MINUTE + 20_000, 'reader-2'),
    landing(d3, SENT + 3 * MINUTE, 'reader-3'),
    // The friend: a shared link with the issue's campaign tag, no cookie of a recipient.
    pageViewEvent(SENT + 3 * MINUTE + 30_000, '/articles/widget-batteries-explained/', 'friend', utm),
  ];
  // Each of the four Tuesdays before: two visits and a call at 04:50–04:57.
  for (let k = 1; k <= 4; k++) {
    views.push(
      pageViewEvent(SENT - k * WEEK - 3 * MINUTE, '/', `week-${k}-a`),
      pageViewEvent(SENT - k * WEEK + 2 * MINUTE, '/articles/', `week-${k}-b`),
    );
  }
  const pageViews = new VisitTracker().inserter;
  const writer = new EventWriter(
    db,
    { pageViews, opens: openInserter, clicks: clickInserter },
    { maxWaitMs: 0, maxBatch: 200 },
  );
  for (const o of opens.sort((x, y) => x.at - y.at)) await writer.write(openInserter, o);
  for (const c of clicks.sort((x, y) => x.at - y.at)) await writer.write(clickInserter, c);
  for (const v of views.sort((x, y) => x.at - y.at)) await writer.write(pageViews, v);
  await writer.close();

  const offline: ['call' | 'walk_in', number][] = [
    ['call', SENT + MINUTE],
    ['walk_in', SENT + 90_000],
    ['call', SENT + 2 * MINUTE],
    ['call', SENT + 3 * MINUTE],
    ['walk_in', SENT + 3 * MINUTE + 40_000],
    ...[1, 2, 3, 4].map((k): ['call', number] => ['call', SENT - k * WEEK]),
  ];
  for (const [i, [kind, at]] of offline.entries()) {
    await storeOfflineEvent(db, {
      kind,
      at,
      recorded_at: at,
      source: 'tally',
      recorded_by: staff,
      mentioned_newsletter: 0,
      note: null,
      client_id: `first-${i}`,
      issue_id: null,
    });
  }
  return { issue, earlier };
}

describeEachDatabase('the first minutes after a send: every figure counts what has happened, and says so', (db) => {
  let data: Seeded;
  beforeAll(async () => {
    data = await seed(db());
  }, 60_000);

  it('the lift counts from the send to now: what the raw rows hold', async () => {
    const report = (await issueReport(db(), data.issue.issueId, { now: NOW }))!;
    const from = SENT;
    const visits = (await db().selectFrom('visits').select('started_at').execute()).map((v) => num(v.started_at));
    const offline = await db()
      .selectFrom('offline_events')
      .select(['kind', 'at'])
      .where('undone_at', 'is', null)
      .execute();
    const direct = {
      visit: visits.filter((at) => at >= from && at < NOW).length,
      call: offline.filter((e) => e.kind === 'call' && num(e.at) >= from && num(e.at) < NOW).length,
      walk_in: offline.filter((e) => e.kind === 'walk_in' && num(e.at) >= from && num(e.at) < NOW).length,
    };
    expect(direct).toEqual({ visit: 4, call: 3, walk_in: 2 });
    const nouns = { visit: 'visits', call: 'calls', walk_in: 'walk-ins' } as const;
    for (const lift of report.lift) {
      for (const result of [lift.h24, lift.h72]) {
        expect(result).toMatchObject({
          sentAt: SENT,
          from,
          to: NOW,
          windowComplete: false,
          observed: direct[lift.metric],
        });
        expect(result.sentence).toMatch(
          new RegExp(
            `^In the 4 minutes since the send \\(Tuesday 04:54 to 04:58; the (24|72)-hour window is still open\\) there were ${direct[lift.metric]} ${nouns[lift.metric]}; a normal week has `,
          ),
        );
      }
    }
    // The earlier Tuesdays, over the same 4 minutes (04:54 to 04:58): the 04:56 visit, not the 04:51 one.
    const visitLift = report.lift.find((l) => l.metric === 'visit')!.h24;
    expect(visitLift.weeksUsed).toEqual([2, 3, 4]); // the issue a week earlier touched week 1
    expect(visitLift.expected).toBe(1);
  });

  it('click-to-open never passes 100 %: a click with images off is an open; visits count a shared link’s friend, recipients who visited do not', async () => {
    const [row] = await compareIssues(db(), { now: NOW, issueIds: [data.issue.issueId] });
    const opens = await db()
      .selectFrom('opens')
      .select(['delivery_id', 'class'])
      .where('issue_id', '=', data.issue.issueId)
      .execute();
    const clicks = await db()
      .selectFrom('clicks')
      .select(['delivery_id', 'class'])
      .where('issue_id', '=', data.issue.issueId)
      .execute();
    const visits = await db()
      .selectFrom('visits')
      .select(['delivery_id'])
      .where('issue_id', '=', data.issue.issueId)
      .execute();
    const humanOpeners = new Set(
      [
        ...opens.filter((o) => o.class === 'human' || o.class === 'proxy'),
        ...clicks.filter((c) => c.class === 'human'),
      ].map((r) => num(r.delivery_id)),
    );
    const clickers = new Set(clicks.filter((c) => c.class === 'human').map((c) => num(c.delivery_id)));
    expect([opens.length, humanOpeners.size, clickers.size]).toEqual([1, 3, 3]);
    expect(row).toMatchObject({
      uniqueHumanOpens: humanOpeners.size,
      uniqueHumanClicks: clickers.size,
      clickToOpenRate: 1,
    });
    expect(row!.attributedVisits).toBe(visits.length);
    expect(row!.attributedVisits).toBe(4);
    expect(row!.uniqueVisitors).toBe(
      new Set(visits.filter((v) => v.delivery_id !== null).map((v) => num(v.delivery_id))).size,
    );
    expect(row!.uniqueVisitors).toBe(3);
  });

  it('the curves open on the first hours, stop at now, and the other issue’s curve runs as far as its own data', async () => {
    const report = (await issueReport(db(), data.issue.issueId, { now: NOW }))!;
    expect(report.curveSpan).toBe('minutes');
    const age = (NOW - quarterOf(SENT)) / HOUR; // 13 minutes
    const byKey = Object.fromEntries(report.curves.map((c) => [c.key, c.points]));
    expect(byKey).toEqual({
      uniqueOpens: [[age, 3]],
      uniqueHumanOpens: [[age, 3]],
      uniqueHumanClicks: [[age, 3]],
      attributedVisits: [[age, 4]],
      calls: [[age, 3]],
      walkIns: [[age, 2]],
    });
    const current = report.overlays.openRate.find((s) => s.current)!;
    const other = report.overlays.openRate.find((s) => !s.current)!;
    expect(current.points).toEqual([[age, 100]]);
    // A week old: the whole first 6 hours by quarter-hour; one of two opened at 05:20.
    expect(other.points).toHaveLength(24);
    expect(other.points.slice(0, 3)).toEqual([
      [0.25, 0],
      [0.5, 0],
      [0.75, 50],
    ]);
    expect(other.points.at(-1)).toEqual([6, 50]);
    // Asked for the week, a four-minute-old issue is still a curve of one point, not a line to 168 h.
    const week = (await issueReport(db(), data.issue.issueId, { now: NOW, span: 'days' }))!;
    expect(week.curves.find((c) => c.key === 'attributedVisits')!.points).toEqual([[age, 4]]);
    expect(week.overlays.openRate.find((s) => !s.current)!.points).toHaveLength(168);
  });
});

describeEachDatabase(
  'issues sent closer together than the window: no call or walk-in is in two issues’ windows',
  (db) => {
    const FIRST = Date.UTC(2026, 10, 2, 9, 5); // Monday
    const SECOND = FIRST + 3 * DAY + 2 * HOUR; // Thursday 11:05
    const LATER = SECOND + 12 * DAY;
    let first: SeededIssue;
    let second: SeededIssue;
    beforeAll(async () => {
      await saveSettings(
        db(),
        {
          ...defaultSettings({ siteUrl: SITE_URL, mail: { from: 'news@frobozz.example' } }),
          timeZone: TZ,
          attributionWindowDays: 7,
        },
        null,
        FIRST - 30 * DAY,
      );
      const user = await db()
        .insertInto('users')
        .values({
          email: 'tally@frobozz.example',
          name: 'Tally',
          role: 'marketer',
          status: 'active',
          password_hash: 'x',
          created_at: FIRST,
          updated_at: FIRST,
          last_login_at: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      for (const [kind, sentAt] of [
        ['first', FIRST],
        ['second', SECOND],
      ] as const) {
        const issue = await seedIssue(db(), SITE_URL, sentAt);
        await db().updateTable('sends').set({ started_at: sentAt }).where('issue_id', '=', issue.issueId).execute();
        if (kind === 'first') first = issue;
        else second = issue;
      }
      // A walk-in every 5 hours over three weeks.
      for (let i = 0, at = FIRST - 2 * DAY; at < LATER; i++, at += 5 * HOUR) {
        await storeOfflineEvent(db(), {
          kind: i % 3 === 0 ? 'call' : 'walk_in',
          at,
          recorded_at: at,
          source: 'tally',
          recorded_by: Number(user.id),
          mentioned_newsletter: 0,
          note: null,
          client_id: `w-${i}`,
          issue_id: null,
        });
      }
    }, 60_000);

    it('the first issue’s window ends when the second goes out; together they count each event once, as the raw rows do', async () => {
      const rows = await compareIssues(db(), { now: LATER });
      const [b, a] = rows;
      expect([a!.issueId, b!.issueId]).toEqual([first.issueId, second.issueId]);
      expect(a).toMatchObject({ windowEndsAt: quarterOf(SECOND), windowCutByNextSendAt: SECOND });
      expect(b).toMatchObject({ windowEndsAt: quarterOf(SECOND) + 7 * DAY, windowCutByNextSendAt: null });
      const events = (await db().selectFrom('offline_events').select(['kind', 'at']).execute()).map((e) => ({
        kind: e.kind,
        at: num(e.at),
      }));
      const within = (kind: string, from: number, to: number) =>
        events.filter((e) => e.kind === kind && e.at >= from && e.at < to).length;
      expect(a!.walkInsInWindow).toBe(within('walk_in', quarterOf(FIRST), quarterOf(SECOND)));
      expect(a!.callsInWindow).toBe(within('call', quarterOf(FIRST), quarterOf(SECOND)));
      expect(b!.walkInsInWindow).toBe(within('walk_in', quarterOf(SECOND), quarterOf(SECOND) + 7 * DAY));
      expect(a!.walkInsInWindow + b!.walkInsInWindow).toBe(
        within('walk_in', quarterOf(FIRST), quarterOf(SECOND) + 7 * DAY),
      );
      // The first issue's report follows the same window: its heatmaps and curves of calls stop at the second send.
      const report = (await issueReport(db(), first.issueId, { now: LATER, span: 'days' }))!;
      expect(report.heatmaps.find((h) => h.key === 'walkIns')!.total).toBe(a!.walkInsInWindow);
      expect(report.curves.find((c) => c.key === 'calls')!.points.at(-1)).toEqual([
        (quarterOf(SECOND) - quarterOf(FIRST)) / HOUR,
        a!.callsInWindow,
      ]);
    });
  },
);
