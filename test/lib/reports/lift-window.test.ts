import { beforeAll, expect, it } from 'vitest';
import type { DB } from '#lib/db/database.ts';
import { EventWriter } from '#lib/events/event-writer.ts';
import { VisitTracker } from '#lib/analytics/visits.ts';
import { defaultSettings, saveSettings } from '#lib/settings/settings.service.ts';
import { storeOfflineEvent } from '#lib/offline/offline-counts.ts';
import { issueReport } from '#lib/reports/issue-report.service.ts';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { seedIssue } from '../../helpers/tracking.ts';
import { pageViewEvent } from '../../helpers/reports.ts';

/**
 * The lift's window is exactly [send, now) — from the send's minute, read from the per-minute counts at
 * the edges and quarter-hours between — and each earlier week's is the same minutes (issue 17,
 * item 1). Tuesday 24 November 2026, London (UTC in winter, so a week back is 168 hours): the
 * issue goes out at 04:52, inside the 04:45 quarter-hour. The report is read at 04:58 (the same
 * quarter-hour) and at 05:37 (two edges and whole quarter-hours between). Every event is a few
 * minutes from an edge:
 *
 *   this week      visits   04:46 04:51 | 04:53 04:57 | 04:59 05:10 05:35 | 05:40
 *                  calls    04:50       | 04:55       | 05:20 05:36       |
 *                  walk-ins 04:48       | 04:56       | 04:59 05:31       | 05:38
 *   weeks 1–4 back visits   04:50 | 04:53;  calls 04:57, 04:59;  walk-ins 05:33
 *                           (| = the send at 04:52; events after 04:58 or 05:37 fall outside)
 *
 *   observed at 04:58   2 visits, 1 call, 1 walk-in    expected 1 visit, 1 call, 0 walk-ins
 *   observed at 05:37   5 visits, 3 calls, 3 walk-ins  expected 1 visit, 2 calls, 1 walk-in
 */
const TZ = 'Europe/London';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const WEEK = 7 * DAY;
const at = (hour: number, minute: number, weeksBack = 0) => Date.UTC(2026, 10, 24, hour, minute) - weeksBack * WEEK;
const SENT = at(4, 52);
const SOON = at(4, 58);
const LATER = at(5, 37);
const SITE_URL = 'https://frobozz.example';

async function seed(db: DB): Promise<number> {
  await saveSettings(
    db,
    { ...defaultSettings({ siteUrl: SITE_URL, mail: { from: 'news@frobozz.example' } }), timeZone: TZ },
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
  const issue = await seedIssue(db, SITE_URL, SENT);
  await db.updateTable('sends').set({ started_at: SENT }).where('issue_id', '=', issue.issueId).execute();

  const visits = [at(4, 46), at(4, 51), at(4, 53), at(4, 57), at(4, 59), at(5, 10), at(5, 35), at(5, 40)];
  const offline: ['call' | 'walk_in', number][] = [
    ['call', at(4, 50)],
    ['call', at(4, 55)],
    ['call', at(5, 20)],
    ['call', at(5, 36)],
    ['walk_in', at(4, 48)],
    ['walk_in', at(4, 56)],
    ['walk_in', at(4, 59)],
    ['walk_in', at(5, 31)],
    ['walk_in', at(5, 38)],
  ];
  for (let k = 1; k <= 4; k++) {
    visits.push(at(4, 50, k), at(4, 53, k));
    offline.push(['call', at(4, 57, k)], ['call', at(4, 59, k)], ['walk_in', at(5, 33, k)]);
  }
  // Each view by its own visitor: one view, one visit.
  const pageViews = new VisitTracker().inserter;
  const writer = new EventWriter(db, { pageViews }, { maxWaitMs: 0, maxBatch: 200 });
  for (const [i, t] of visits.sort((a, b) => a - b).entries())
    await writer.write(pageViews, pageViewEvent(t, '/', `visitor-${i}`));
  await writer.close();
  for (const [i, [kind, t]] of offline.entries()) {
    await storeOfflineEvent(db, {
      kind,
      at: t,
      recorded_at: t,
      source: 'tally',
      recorded_by: Number(user.id),
      mentioned_newsletter: 0,
      note: null,
      client_id: `edge-${i}`,
      issue_id: null,
    });
  }
  return issue.issueId;
}

describeEachDatabase('the lift over exactly [send, now), earlier weeks over the same minutes', (db) => {
  let issueId: number;
  beforeAll(async () => {
    issueId = await seed(db());
  }, 60_000);

  /** Straight from the raw rows: visits started and calls or walk-ins (not undone) in [from, to). */
  const direct = async (metric: 'visit' | 'call' | 'walk_in', from: number, to: number) => {
    if (metric === 'visit')
      return (await db().selectFrom('visits').select('started_at').execute()).filter(
        (v) => Number(v.started_at) >= from && Number(v.started_at) < to,
      ).length;
    const rows = await db()
      .selectFrom('offline_events')
      .select('at')
      .where('kind', '=', metric)
      .where('undone_at', 'is', null)
      .execute();
    return rows.filter((r) => Number(r.at) >= from && Number(r.at) < to).length;
  };

  for (const [now, observed, expected, said] of [
    [
      SOON,
      { visit: 2, call: 1, walk_in: 1 },
      { visit: 1, call: 1, walk_in: 0 },
      'In the 6 minutes since the send (Tuesday 04:52 to 04:58;',
    ],
    [
      LATER,
      { visit: 5, call: 3, walk_in: 3 },
      { visit: 1, call: 2, walk_in: 1 },
      'In the 45 minutes since the send (Tuesday 04:52 to 05:37;',
    ],
  ] as const) {
    it(`read at ${new Date(now).toISOString().slice(11, 16)}: the figures are the raw rows of [send, now) and of the same minutes of each earlier week`, async () => {
      const report = (await issueReport(db(), issueId, { now }))!;
      expect(report.lift.map((l) => l.metric)).toEqual(['visit', 'call', 'walk_in']);
      for (const { metric, h24, h72 } of report.lift) {
        for (const result of [h24, h72]) {
          expect(result.sentence.startsWith(said), result.sentence).toBe(true);
          expect([metric, result.from, result.to, result.observed]).toEqual([metric, SENT, now, observed[metric]]);
          expect(result.observed).toBe(await direct(metric, SENT, now));
          expect(result.weeksUsed).toEqual([1, 2, 3, 4]);
          for (const week of result.baseline) {
            expect([metric, week.from, week.to]).toEqual([
              metric,
              SENT - week.weeksBack * WEEK,
              now - week.weeksBack * WEEK,
            ]);
            expect([metric, week.weeksBack, week.count]).toEqual([
              metric,
              week.weeksBack,
              await direct(metric, week.from, week.to),
            ]);
          }
          expect([metric, result.expected]).toEqual([metric, expected[metric]]);
        }
      }
    });
  }
});
