import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, apiKeyFor, request, sessionCookie } from '../helpers/accounts.ts';
import { pageViewEvent } from '../helpers/reports.ts';
import { seedDelivery, seedIssue } from '../helpers/tracking.ts';
import { clickInserter, openInserter } from '../helpers/event-rows.ts';
import { insertHoldoutExperiment } from '../helpers/experiments.ts';
import { createDatabase } from '../../src/lib/db/database.ts';
import { migrateToLatest } from '../../src/lib/db/migrate.ts';
import { EventWriter } from '../../src/lib/events/event-writer.ts';
import { VisitTracker, type PageViewEvent } from '../../src/lib/analytics/visits.ts';
import { defaultSettings, saveSettings } from '../../src/lib/settings/settings.service.ts';
import { quarterOf } from '../../src/lib/counts/buckets.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/**
 * "More than usual?" (issue 19) on the real server: a newsletter that went out at the same hour
 * every week for six weeks, its last issue four days ago (times from the `now` passed in; the
 * site's zone is UTC, so a calendar week is 168 hours). For the last two, every earlier week's 72
 * hours had a send, so the visits lift has no baseline and the report explains why and what can
 * answer. A visit 30 days before the first issue starts the site's counts, so every earlier week
 * has data and is skipped only for its send. K = (1.959964 + 0.841621)² = 7.848880.
 *
 * The last issue, sent at S to 10 (all delivered), no experiment: 3 recipients land through its
 * link at S + 1, 2, 3 h (3 attributed visits, 3 visitors); 9 other visitors come in its 72 hours.
 * Observed 12, the effect so far Δ = 3, the level μ = 9. Weeks needed:
 * - skipped weeks or alternating days: 2 × ⌈K × (9 + 3 + 9) / 3²⌉ = 2 × ⌈18.314⌉ = 38 weeks;
 * - a 10 % holdout (no result yet: the held out's rate taken as 0, "at least"): d = 3/10, p₁ = 0.3,
 *   9 treated and 1 held out a week: ⌈K × 0.3 × 0.7 / 9 / 0.09⌉ = ⌈2.035⌉ = 3 weeks.
 *
 * The one before, sent at T = S − 1 week with a 25 % holdout: 9 recipients (the rest, delivered)
 * and 3 held out. Readers known before the send (reader cookie set at T − 5 days): r0–r5 and
 * h0–h1. r0 and r1 land through the issue's link at T + 1, 2 h, r2 and r3 come back at T + 1, 2
 * days, h0 at T + 1 day 1 h, all from browsers carrying their reader cookie; 4 other visitors in
 * the 72 hours. Observed 9, Δ = 2 (r0, r1), μ = 7.
 * - The holdout result on visits: recipients 4 of 6 identifiable, held out 1 of 2: 666.7 − 500 =
 *   166.7 per 1,000. Wilson 4/6: 0.299993 to 0.903229; 1/2: 0.094531 to 0.905469. Newcombe: low =
 *   0.166667 − √(0.366674² + 0.405469²) = −0.380009, high = 0.166667 + √(0.236562² + 0.405469²) =
 *   0.636099 → −380.0 to 636.1 per 1,000.
 * - Weeks needed with a 25 % holdout, from its result: p₀ = 0.5, d = 1/6, 9 delivered a week →
 *   6.75 recipients and 2.25 held out: K × (0.6667 × 0.3333 / 6.75 + 0.25 / 2.25) / (1/36) =
 *   40.698 → 41 weeks; skipped weeks or alternating days: 2 × ⌈K × (7 + 2 + 7) / 2²⌉ = 2 × ⌈31.396⌉
 *   = 64 weeks.
 */
async function seedWeeklyRun(url: string, siteUrl: string, now: number) {
  const db = createDatabase(url, { poolSize: 1 });
  try {
    await migrateToLatest(db);
    const saved = await saveSettings(
      db,
      {
        ...defaultSettings({ siteUrl, mail: { from: 'news@frobozz.example' } }),
        postalAddress: '12 Flathead Row, Port Foozle',
        timeZone: 'UTC',
        attributionWindowDays: 7,
      },
      null,
      now - 90 * DAY,
    );
    if (!saved.ok) throw new Error(`settings refused: ${JSON.stringify(saved.errors)}`);
    const sentAt = quarterOf(now - 4 * DAY) + 7 * MINUTE;
    const issues: { issueId: number; sentAt: number }[] = [];
    for (let k = 5; k >= 0; k--) {
      const at = sentAt - k * WEEK;
      const issue = await seedIssue(db, siteUrl, at);
      await db.updateTable('sends').set({ started_at: at }).where('issue_id', '=', issue.issueId).execute();
      await db
        .updateTable('issues')
        .set({ subject: `Weekly widgets, week ${6 - k}` })
        .where('id', '=', issue.issueId)
        .execute();
      issues.push({ issueId: issue.issueId, sentAt: at });
    }
    const last = issues.at(-1)!;
    const deliveries = [];
    for (let i = 0; i < 10; i++) deliveries.push(await seedDelivery(db, last.issueId, sentAt));

    const views: PageViewEvent[] = [pageViewEvent(issues[0]!.sentAt - 30 * DAY, '/', 'before-the-run')];
    for (const [i, d] of deliveries.slice(0, 3).entries()) {
      const clicked = sentAt + (i + 1) * HOUR;
      views.push(
        pageViewEvent(clicked + 3_000, '/articles/widget-batteries-explained/', `reader-${i}`, {
          attribution: { issueId: last.issueId, deliveryId: d.deliveryId, subscriberId: d.subscriberId, at: clicked },
        }),
      );
    }
    for (let i = 0; i < 9; i++) views.push(pageViewEvent(sentAt + (5 + 7 * i) * HOUR, '/', `passer-by-${i}`));

    // The issue before, with its holdout.
    const held = issues.at(-2)!;
    const T = held.sentAt;
    const people: Record<string, { deliveryId: number; subscriberId: number }> = {};
    for (const [prefix, n, arm] of [
      ['r', 9, 'rest'],
      ['h', 3, 'holdout'],
    ] as const)
      for (let i = 0; i < n; i++) {
        const d = await seedDelivery(db, held.issueId, T);
        await db
          .updateTable('deliveries')
          .set(arm === 'holdout' ? { arm, status: 'held_out', sent_at: null } : { arm })
          .where('id', '=', d.deliveryId)
          .execute();
        people[`${prefix}${i}`] = d;
      }
    for (const p of ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'h0', 'h1'])
      await db
        .updateTable('subscribers')
        .set({ reader_known_at: T - 5 * DAY })
        .where('id', '=', people[p]!.subscriberId)
        .execute();
    await insertHoldoutExperiment(db, held.issueId, { holdoutShare: 0.25, rest: 9, holdout: 3, createdAt: T - HOUR });
    for (const [i, p] of (['r0', 'r1'] as const).entries()) {
      const clicked = T + (i + 1) * HOUR;
      const d = people[p]!;
      views.push(
        pageViewEvent(clicked + 3_000, '/articles/widget-batteries-explained/', `reader-${p}`, {
          reader: d.subscriberId,
          attribution: { issueId: held.issueId, deliveryId: d.deliveryId, subscriberId: d.subscriberId, at: clicked },
        }),
      );
    }
    for (const [p, at] of [
      ['r2', T + DAY],
      ['r3', T + 2 * DAY],
      ['h0', T + DAY + HOUR],
    ] as const)
      views.push(pageViewEvent(at, '/', `reader-${p}`, { reader: people[p]!.subscriberId }));
    for (let i = 0; i < 4; i++) views.push(pageViewEvent(T + (5 + 11 * i) * HOUR, '/', `earlier-passer-by-${i}`));
    const pageViews = new VisitTracker().inserter;
    const writer = new EventWriter(
      db,
      { pageViews, opens: openInserter, clicks: clickInserter },
      { maxWaitMs: 0, maxBatch: 200 },
    );
    for (const v of views.sort((x, y) => x.at - y.at)) await writer.write(pageViews, v);
    await writer.close();
    return { first: issues[0]!, held, last };
  } finally {
    await db.destroy();
  }
}

const EXPLANATION =
  'Every one of the previous 4 weeks had a newsletter in these hours, so there is no week without a send to compare with. ' +
  'Comparing with those weeks could not tell what this send added from what this weekday and hour bring anyway: every week had both.';
const OPTIONS = [
  {
    key: 'holdout',
    text: 'Hold out 10 % of the audience at random each week: they get nothing, and their visits are compared with the recipients’ (at least 3 weeks).',
    weeks: 3,
  },
  {
    key: 'skipped_week',
    text: 'Skip the send every other week, so half the weeks are without it in these hours (38 weeks).',
    weeks: 38,
  },
  {
    key: 'alternate_days',
    text: 'Alternate between two send days, so each day’s hours are without a send every other week (38 weeks).',
    weeks: 38,
  },
];
const HELD_SENTENCE =
  'Against the held-out group, the send brought 166.7 more visitors per 1,000 recipients (−380 to 636.1).';
const HELD_OPTIONS = [
  {
    key: 'holdout',
    text: 'Hold out 25 % of the audience at random each week: they get nothing, and their visits are compared with the recipients’ (41 weeks).',
    weeks: 41,
  },
  {
    key: 'skipped_week',
    text: 'Skip the send every other week, so half the weeks are without it in these hours (64 weeks).',
    weeks: 64,
  },
  {
    key: 'alternate_days',
    text: 'Alternate between two send days, so each day’s hours are without a send every other week (64 weeks).',
    weeks: 64,
  },
];
const decode = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

for (const dialect of testDialects()) {
  describe(`“More than usual?” for a weekly newsletter [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let run: Awaited<ReturnType<typeof seedWeeklyRun>>;
    let cookie: string;
    let key: string;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-cadence-'));
      const created = await createTestDatabaseUrl(dialect, dir);
      drop = created.drop;
      const port = await freePort();
      run = await seedWeeklyRun(created.url, `http://127.0.0.1:${port}`, Date.now());
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { PORT: String(port), SEND_WORKER: '0' },
      });
      cookie = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'marketer@example.com', 'marketer'),
      );
      key = await apiKeyFor(server.databaseUrl, 'marketer');
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    const reportJson = async (issueId: number) => {
      const answer = await request(server, `/api/issues/${issueId}/report`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(answer.status, answer.text).toBe(200);
      return JSON.parse(answer.text);
    };

    it('the last issue of the run: the report page explains why there is no lift and offers what can answer, with the weeks each needs', async () => {
      const page = await request(server, `/admin/issues/${run.last.issueId}/report`, { cookie });
      expect(page.status).toBe(200);
      const section = /<div class="regular-cadence"[^>]*data-regular-cadence[\s\S]*?<\/ul>/.exec(page.text)?.[0];
      expect(section, 'the “More than usual?” section').toBeDefined();
      const text = decode(section!);
      expect(text).toContain('More than usual?');
      expect(text).toContain(EXPLANATION);
      const options = [...section!.matchAll(/<li[^>]*data-option="([^"]+)"[^>]*>([\s\S]*?)<\/li>/g)].map(
        ([, option, body]) => [option, decode(body!)],
      );
      expect(options).toEqual(OPTIONS.map((o) => [o.key, o.text]));
      // No holdout ran, so no holdout result in the section.
      expect(section).not.toContain('data-holdout-result');
      // Its definition is on the page.
      expect(decode(page.text)).toContain('What can answer: a holdout (compared per person)');
    });

    it('the JSON report carries the same figures, and the lift it stands for has no baseline, every week skipped for a send', async () => {
      const report = await reportJson(run.last.issueId);
      expect(report.regular_cadence).toEqual({ explanation: EXPLANATION, holdout: null, options: OPTIONS });
      const visits = report.lift.find((l: { metric: string }) => l.metric === 'visit');
      expect(visits.h72).toMatchObject({ observed: 12, verdict: 'no-baseline', expected: null, weeks_used: [] });
      expect(visits.h72.weeks_excluded.map((w: { reason: string; send_at: number }) => [w.reason, w.send_at])).toEqual(
        [1, 2, 3, 4].map((k) => ['another-send', run.last.sentAt - k * WEEK]),
      );
    });

    it('the issue before, with a holdout: the section shows its result, and the options are sized from it', async () => {
      const page = await request(server, `/admin/issues/${run.held.issueId}/report`, { cookie });
      expect(page.status).toBe(200);
      const section = /<div class="regular-cadence"[^>]*data-regular-cadence[\s\S]*?<\/ul>/.exec(page.text)?.[0];
      expect(section, 'the “More than usual?” section').toBeDefined();
      expect(decode(section!)).toContain(EXPLANATION);
      expect(decode(/<p data-holdout-result[^>]*>[\s\S]*?<\/p>/.exec(section!)?.[0] ?? '')).toBe(HELD_SENTENCE);
      const options = [...section!.matchAll(/<li[^>]*data-option="([^"]+)"[^>]*>([\s\S]*?)<\/li>/g)].map(
        ([, option, body]) => [option, decode(body!)],
      );
      expect(options).toEqual(HELD_OPTIONS.map((o) => [o.key, o.text]));

      const report = await reportJson(run.held.issueId);
      expect(report.regular_cadence).toMatchObject({ explanation: EXPLANATION, options: HELD_OPTIONS });
      const { difference, low, high, sentence } = report.regular_cadence.holdout;
      expect(sentence).toBe(HELD_SENTENCE);
      expect(difference).toBeCloseTo(166.667, 2);
      expect(low).toBeCloseTo(-380.009, 2);
      expect(high).toBeCloseTo(636.099, 2);
      // The same figures as the experiment's own holdout result, counted from the raw rows.
      const visits = report.experiment.holdout_result.visits;
      expect(
        visits.arms.map((a: { arm: string; identifiable: number; people: number }) => [
          a.arm,
          a.identifiable,
          a.people,
        ]),
      ).toEqual([
        ['rest', 6, 4],
        ['holdout', 2, 1],
      ]);
      expect(visits.effect_per_1000.difference).toBeCloseTo(difference, 9);
      const lift = report.lift.find((l: { metric: string }) => l.metric === 'visit').h72;
      expect(lift).toMatchObject({ observed: 9, verdict: 'no-baseline' });
    });

    it('the first issue of the run had no earlier weeks with data: no lift either, but no advice (a different reason)', async () => {
      const report = await reportJson(run.first.issueId);
      expect(report.regular_cadence).toBeNull();
      const page = await request(server, `/admin/issues/${run.first.issueId}/report`, { cookie });
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('data-regular-cadence');
    });
  });
}
