import { listGrowth } from '#lib/growth/list-growth.service.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { loadConfig } from '#lib/config.ts';
import { createAppContext, type AppContext } from '#lib/app/context.ts';
import { phoneHash } from '#lib/phone/phone-hash.ts';
import { migrateToLatest } from '#lib/db/migrate.ts';
import type { DB } from '#lib/db/database.ts';
import { clearSettingsCache, getSettings } from '#lib/settings/settings.service.ts';
import { upsertSetting } from '#lib/settings/settings.repository.ts';
import { firstSteps } from '#lib/setup/first-steps.ts';
import { demoShop } from '../../../src/demo/shop.ts';
import { generateDemo, type DemoSummary } from '../../../src/demo/generate.ts';
import type { DemoScale } from '../../../src/demo/scale.ts';
import { isOpenAt } from '../../../src/demo/opening-hours.ts';
import { issueClickMap } from '#lib/reports/click-map.ts';
import { createTestDatabaseUrl, testDialects } from '../../helpers/databases.ts';
import { compareIssues, issueReport } from '#lib/reports/issue-report.service.ts';
import { experimentReport } from '#lib/reports/experiment-report.service.ts';
import { peoplePage } from '#lib/reports/people.service.ts';

/** A Thursday noon; the store's hours are read in New York time, so a generator ignoring the site's zone would miss them. */
const NOW = Date.UTC(2026, 10, 26, 17, 0);
const TIME_ZONE = 'America/New_York';
const SMALL: DemoScale = { subscribers: 200, weeks: 2, issues: 3, seed: 7 };
const HOUR = 3_600_000;

async function demoApp(dialect: 'sqlite' | 'postgres'): Promise<{ app: AppContext; drop: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'footfall-demo-'));
  const created = await createTestDatabaseUrl(dialect, dir);
  const app = createAppContext(
    loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: created.url,
      DATA_DIR: dir,
      SECRET: 'demo-test-secret-'.padEnd(40, 'x'),
    }),
  );
  await migrateToLatest(app.db);
  // The site's zone, chosen before the demo runs (the demo keeps it; it stores the shop's own details).
  await upsertSetting(app.db, {
    key: 'timeZone',
    value: JSON.stringify(TIME_ZONE),
    updated_at: NOW - 30 * 24 * HOUR,
    updated_by: null,
  });
  return {
    app,
    drop: async () => {
      await app.close();
      await created.drop();
    },
  };
}

const count = async (db: DB, query: string) =>
  Number((await sql.raw<{ n: number }>(`select count(*) as n from ${query}`).execute(db)).rows[0]!.n);

/** What a user would notice first, as numbers: the same seed must give the same ones. */
async function figures(db: DB) {
  const grouped = async (table: string, column: string) =>
    Object.fromEntries(
      (
        await sql
          .raw<{ k: string; n: number }>(
            `select ${column} as k, count(*) as n from ${table} group by ${column} order by ${column}`,
          )
          .execute(db)
      ).rows.map((r) => [r.k, Number(r.n)]),
    );
  return {
    subscribers: await grouped('subscribers', 'status'),
    deliveries: await grouped('deliveries', 'status'),
    opens: await grouped('opens', 'class'),
    clicks: await grouped('clicks', 'class'),
    visits: await count(db, 'visits'),
    attributedVisits: await count(db, 'visits where issue_id is not null'),
    laterVisits: await count(db, 'visits where is_later = 1'),
    pageViews: await count(db, 'page_views'),
    offline: await grouped('offline_events', 'kind'),
  };
}

for (const dialect of testDialects()) {
  describe(`demo history, small [${dialect}]`, () => {
    let app: AppContext;
    let drop: () => Promise<void>;
    let summary: DemoSummary;
    const db = () => app.db;

    beforeAll(async () => {
      ({ app, drop } = await demoApp(dialect));
      summary = await generateDemo(app, SMALL, NOW);
    });
    afterAll(async () => drop?.());

    it('the demo keeps its shop: sender, postal address, place, phone and hours in its own Settings, every first step done', async () => {
      clearSettingsCache(db());
      const settings = await getSettings(db(), { now: NOW });
      expect(settings).toMatchObject({
        siteName: 'Frobozz Electric',
        senderName: 'Frobozz Electric',
        senderAddress: demoShop.sender.address,
        postalAddress: demoShop.postalAddress,
        placeName: 'Port Foozle',
        phone: '(555) 0142',
        timeZone: TIME_ZONE,
      });
      expect(settings.openingHours).toEqual(demoShop.hours);
      expect((await firstSteps(db(), NOW)).filter((step) => !step.done)).toEqual([]);
    });

    it('issues are composed by the marketer, scheduled, and sent by the worker: every delivery sent (or bounced) at its send time, the history ending now', async () => {
      const issues = await db()
        .selectFrom('issues')
        .leftJoin('sends', 'sends.issue_id', 'issues.id')
        .select([
          'issues.id',
          'issues.status',
          'sends.state',
          'sends.scheduled_at',
          'sends.created_at as send_created_at',
        ])
        .orderBy('issues.id')
        .execute();
      expect(issues).toHaveLength(SMALL.issues);
      for (const issue of issues) {
        expect(issue).toMatchObject({ status: 'sent', state: 'finished' });
        expect(Number(issue.send_created_at)).toBeLessThan(Number(issue.scheduled_at)); // scheduled ahead, not sent at once
        const deliveries = await db()
          .selectFrom('deliveries')
          .select(['status', 'sent_at', 'message_id', 'arm'])
          .where('issue_id', '=', issue.id)
          .execute();
        expect(deliveries.length).toBeGreaterThan(100);
        // The last issue holds 10 % out (issue 19): they get nothing.
        expect(
          deliveries.filter((d) => d.status !== 'sent' && d.status !== 'bounced' && d.status !== 'held_out'),
        ).toEqual([]);
        expect(deliveries.some((d) => d.status === 'held_out')).toBe(issue === issues.at(-1));
        // The issue before the last tests two subjects: the rest go out when the four-hour wait ends.
        expect(deliveries.some((d) => d.arm === 'A')).toBe(issue === issues.at(-2));
        for (const d of deliveries.filter((d) => d.status === 'sent')) {
          const due = Number(issue.scheduled_at) + (d.arm === 'rest' && issue === issues.at(-2) ? 4 * HOUR : 0);
          expect(Number(d.sent_at) - due).toBeGreaterThanOrEqual(0);
          expect(Number(d.sent_at) - due).toBeLessThan(10 * 60_000);
          expect(d.message_id).toMatch(/^<footfall\./);
        }
      }
      expect(summary.issues.map((i) => i.sentAt)).toEqual(issues.map((i) => Number(i.scheduled_at)));
      expect(summary.logins.map((l) => l.role)).toEqual(['admin', 'marketer']);
      for (const table of ['opens', 'clicks', 'page_views', 'offline_events']) {
        const latest = Number(
          (await sql.raw<{ m: number }>(`select max(at) as m from ${table}`).execute(db())).rows[0]!.m,
        );
        expect(latest, table).toBeLessThan(NOW);
        if (table !== 'clicks') expect(latest, table).toBeGreaterThan(NOW - 2 * 24 * HOUR);
      }
    });

    it('opens of every class: Apple’s prefetch within minutes of delivery, proxies and readers later, scanners on arrival', async () => {
      const opens = await db()
        .selectFrom('opens')
        .innerJoin('deliveries', 'deliveries.id', 'opens.delivery_id')
        .select(['opens.class', 'opens.reason', 'opens.at', 'deliveries.sent_at'])
        .execute();
      const byClass = (c: string) => opens.filter((o) => o.class === c).map((o) => Number(o.at) - Number(o.sent_at));
      for (const c of ['human', 'proxy', 'apple_mpp', 'scanner']) expect(byClass(c).length, c).toBeGreaterThan(0);
      const apple = byClass('apple_mpp');
      expect(apple.filter((age) => age < 10 * 60_000).length / apple.length).toBeGreaterThan(0.6);
      const readers = [...byClass('human'), ...byClass('proxy')];
      expect(Math.min(...readers)).toBeGreaterThanOrEqual(60_000);
      // A spike after the send that decays: more in the first 6 hours than in the next 42.
      expect(readers.filter((a) => a < 6 * HOUR).length).toBeGreaterThan(
        readers.filter((a) => a >= 6 * HOUR && a < 48 * HOUR).length / 2,
      );
      expect(readers.filter((a) => a < 6 * HOUR).length).toBeGreaterThan(readers.filter((a) => a >= 48 * HOUR).length);
      expect(byClass('scanner').every((a) => a < 60_000)).toBe(true);
      // A scanner's open is judged by who loaded it: the reason names the network's owner and AS.
      expect(opens.filter((o) => o.class === 'scanner').every((o) => /\(AS\d+\)/.test(o.reason))).toBe(true);
    });

    it('scanners click every link (the honeypot too) within a second of arrival and are bots; readers click minutes later and are human', async () => {
      const clicks = await db()
        .selectFrom('clicks')
        .innerJoin('deliveries', 'deliveries.id', 'clicks.delivery_id')
        .select([
          'clicks.delivery_id',
          'clicks.class',
          'clicks.reason',
          'clicks.at',
          'clicks.link_id',
          'deliveries.sent_at',
          'deliveries.issue_id',
        ])
        .execute();
      const bots = clicks.filter((c) => c.class === 'bot');
      const humans = clicks.filter((c) => c.class === 'human');
      expect(bots.length).toBeGreaterThan(0);
      expect(humans.length).toBeGreaterThan(0);
      // Each bot click names who made it: the network's owner and AS (a cloud host's sandbox, a named scanner in it).
      expect(bots.every((c) => /\(AS\d+\)/.test(c.reason))).toBe(true);
      expect(bots.some((c) => c.reason.startsWith('followed the hidden link'))).toBe(true);
      expect(humans.every((c) => Number(c.at) - Number(c.sent_at) > 10_000)).toBe(true);
      const links = await db().selectFrom('issue_links').select(['id', 'issue_id']).execute();
      const scanned = Map.groupBy(bots, (c) => Number(c.delivery_id));
      for (const [, burst] of scanned) {
        const times = burst.map((c) => Number(c.at));
        expect(Math.max(...times) - Math.min(...times)).toBeLessThan(2000);
        expect(new Set(burst.map((c) => Number(c.link_id))).size).toBe(
          links.filter((l) => Number(l.issue_id) === Number(burst[0]!.issue_id)).length,
        );
      }
    });

    it('visits: readers land with the issue’s campaign, carry its cookie, and some come back on later days', async () => {
      const visits = await db()
        .selectFrom('visits')
        .select(['issue_id', 'attributed_by', 'is_later', 'started_at', 'delivery_id'])
        .where('issue_id', 'is not', null)
        .execute();
      expect(visits.filter((v) => v.attributed_by === 'utm').length).toBeGreaterThan(0);
      expect(visits.filter((v) => v.attributed_by === 'cookie').length).toBeGreaterThan(0);
      const later = visits.filter((v) => Number(v.is_later) === 1);
      expect(later.length).toBeGreaterThan(0);
      for (const v of later.filter((v) => v.delivery_id !== null)) {
        const delivery = await db()
          .selectFrom('deliveries')
          .select(['first_clicked_at', 'first_visit_at'])
          .where('id', '=', Number(v.delivery_id))
          .executeTakeFirstOrThrow();
        expect(Number(v.started_at) - Number(delivery.first_clicked_at)).toBeGreaterThan(HOUR);
      }
      expect(await count(db(), 'deliveries where first_visit_at is not null')).toBeGreaterThan(0);
      // Everyday traffic too: more visits than the newsletter brought, and crawlers counted apart.
      expect(await count(db(), 'visits where issue_id is null')).toBeGreaterThan(visits.length);
      expect(await count(db(), 'page_views where is_bot = 1')).toBeGreaterThan(0);
    });

    it('the demo’s report figures have people behind them: each issue’s openers, clickers, visitors and those who came back, as many as its figures', async () => {
      clearSettingsCache(db());
      for (const row of await compareIssues(db(), { now: NOW })) {
        const listed = async (figure: 'opened' | 'clicked' | 'visited' | 'later' | 'not-opened', link?: number) => {
          const page = await peoplePage(
            db(),
            link === undefined ? { issue: row.issueId, figure } : { issue: row.issueId, figure, link },
            1,
            10_000,
          );
          if (!page.perPersonTracking) throw new Error('the demo has per-person tracking off');
          return { total: page.total, listed: page.people.length };
        };
        expect(await listed('opened')).toEqual({ total: row.uniqueHumanOpens, listed: row.uniqueHumanOpens });
        expect(await listed('clicked')).toEqual({ total: row.uniqueHumanClicks, listed: row.uniqueHumanClicks });
        expect(await listed('visited')).toEqual({ total: row.uniqueVisitors, listed: row.uniqueVisitors });
        expect(await listed('not-opened')).toEqual({
          total: row.delivered - row.uniqueHumanOpens,
          listed: row.delivered - row.uniqueHumanOpens,
        });
        expect(row.uniqueHumanClicks).toBeGreaterThan(0);
        const report = (await issueReport(db(), row.issueId, { now: NOW }))!;
        const top = report.links.reduce((a, b) => (b.uniqueClickers > a.uniqueClickers ? b : a));
        expect(top.uniqueClickers).toBeGreaterThan(0);
        expect(await listed('clicked', top.id)).toEqual({ total: top.uniqueClickers, listed: top.uniqueClickers });
      }
      const later = await count(
        db(),
        'deliveries d where exists (select 1 from visits v where v.delivery_id = d.id and v.is_later = 1)',
      );
      expect(later).toBeGreaterThan(0);
    });

    it('calls and walk-ins are tapped mostly in opening hours (site time), with more — and more mentioning the newsletter — in the two days after a send', async () => {
      const { timeZone } = await getSettings(db(), { now: NOW });
      expect(timeZone).toBe(TIME_ZONE);
      const events = await db()
        .selectFrom('offline_events')
        .select(['kind', 'at', 'mentioned_newsletter', 'source', 'recorded_by', 'issue_id', 'to_hash'])
        .execute();
      expect(new Set(events.map((e) => e.kind))).toEqual(new Set(['call', 'walk_in']));
      const tapped = events.filter((e) => e.source === 'tally');
      const tracked = events.filter((e) => e.source === 'webhook');
      expect(tapped.length + tracked.length).toBe(events.length);
      expect(tapped.every((e) => e.recorded_by !== null && e.issue_id === null)).toBe(true);
      // Calls to an issue's tracked number are credited to it, and only after it went out.
      expect(tracked.length).toBeGreaterThan(0);
      const issues = new Map(
        (
          await db()
            .selectFrom('issues')
            .innerJoin('sends', 'sends.issue_id', 'issues.id')
            .select(['issues.id', 'issues.tracked_phone', 'sends.scheduled_at as sent_at'])
            .execute()
        ).map((i) => [Number(i.id), i]),
      );
      for (const call of tracked) {
        const issue = issues.get(Number(call.issue_id));
        expect(call.kind).toBe('call');
        // The called number is kept only as its keyed hash: the tracked number's.
        expect(call.to_hash).toBe(phoneHash(app.secret, issue!.tracked_phone!));
        expect(Number(call.at)).toBeGreaterThan(Number(issue!.sent_at) - 10 * 60_000);
      }
      const inHours = events.filter((e) => isOpenAt(Number(e.at), timeZone)).length;
      expect(inHours / events.length).toBeGreaterThan(0.9);
      expect(inHours).toBeLessThan(events.length); // a few tapped while opening up or locking up
      const sends = summary.issues.map((i) => i.sentAt);
      const afterSend = (at: number) => sends.some((s) => at >= s && at < s + 48 * HOUR);
      const openHoursIn = (inWindow: boolean) => {
        let hours = 0;
        for (let t = NOW - SMALL.weeks * 7 * 24 * HOUR; t < NOW; t += 15 * 60_000)
          if (isOpenAt(t, timeZone) && afterSend(t) === inWindow) hours += 0.25;
        return hours;
      };
      const after = events.filter((e) => afterSend(Number(e.at)));
      const rest = events.filter((e) => !afterSend(Number(e.at)));
      expect(after.length / openHoursIn(true)).toBeGreaterThan((1.2 * rest.length) / openHoursIn(false));
      const mentioned = (list: typeof events) =>
        list.filter((e) => Number(e.mentioned_newsletter) === 1).length / list.length;
      expect(mentioned(after)).toBeGreaterThan(mentioned(rest));
    });

    it('subscribers: the old list imported, signups from the site’s forms confirmed (a few left pending)', async () => {
      expect(await count(db(), "subscribers where source_form = 'import' and consent_note is not null")).toBe(
        Math.round(SMALL.subscribers * 0.8),
      );
      expect(
        await count(
          db(),
          "subscribers where source_form like 'article:/articles/%' and status = 'active' and consent_text_version is not null",
        ),
      ).toBeGreaterThan(0);
      expect(await count(db(), "subscribers where status = 'pending'")).toBeGreaterThan(0);
      const total = await count(db(), 'subscribers');
      expect(total).toBeGreaterThan(SMALL.subscribers * 0.9);
      expect(total).toBeLessThan(SMALL.subscribers * 1.1);
    });

    it('list growth: the old list imported, signups from forms and from issues, unsubscribes, and the active list now as many as the active rows', async () => {
      const growth = await listGrowth(db(), '12w', TIME_ZONE, NOW);
      const sum = (pick: (p: (typeof growth.periods)[number]) => number) =>
        growth.periods.reduce((total, p) => total + pick(p), 0);
      expect(growth.activeAtStart).toBe(0);
      expect(sum((p) => p.joined.import)).toBe(await count(db(), "subscribers where source_form = 'import'"));
      expect(sum((p) => p.joined.form)).toBeGreaterThan(0);
      expect(sum((p) => p.joined.issue)).toBeGreaterThan(0);
      expect(sum((p) => p.joined.form + p.joined.issue)).toBe(
        await count(db(), "subscriber_events where kind = 'confirmed'"),
      );
      // Readers leave from issues (rare at this scale; the full demo has dozens), each counted once.
      expect(sum((p) => p.left.unsubscribed)).toBe(summary.counts.unsubscribes);
      expect(sum((p) => p.left.unsubscribed)).toBe(await count(db(), "subscriber_events where kind = 'unsubscribed'"));
      expect(growth.periods.at(-1)!.activeAtEnd).toBe(await count(db(), "subscribers where status = 'active'"));
    });

    it('the reports show mail programs, devices and a click map: Apple Mail with and without Privacy Protection, Gmail, Outlook or Thunderbird, phones and desktops, links with human clicks', async () => {
      const issues = await db().selectFrom('issues').select('id').where('status', '=', 'sent').execute();
      const clients: Record<string, number> = {};
      const devices: Record<string, number> = {};
      let clickedBadges = 0;
      for (const { id } of issues) {
        const report = (await issueReport(db(), Number(id), { now: NOW }))!;
        for (const r of report.mailClients.clients)
          clients[r.key] = (clients[r.key] ?? 0) + r.opens + r.clicks + r.prefetches;
        for (const r of report.mailClients.devices) devices[r.key] = (devices[r.key] ?? 0) + r.opens + r.clicks;
        const map = (await issueClickMap(db(), Number(id), report.links))!;
        clickedBadges += [...map.html.matchAll(/class="ff-click-badge"[^>]*>\d+: ([1-9][\d,]*) clicks? /g)].length;
      }
      for (const key of ['apple_mail', 'gmail', 'yahoo', 'outlook', 'thunderbird', 'browser', 'apple_mpp'])
        expect(clients[key], key).toBeGreaterThan(0);
      for (const key of ['phone', 'desktop', 'tablet']) expect(devices[key], key).toBeGreaterThan(0);
      expect(clickedBadges).toBeGreaterThan(0);
    });

    it('the last issue’s holdout: 10 % held out at random, never mailed; its report compares recipients with them per person', async () => {
      const last = summary.issues.at(-1)!;
      const issueId = Number(
        (
          await db()
            .selectFrom('sends')
            .select('issue_id')
            .where('scheduled_at', '=', last.sentAt)
            .executeTakeFirstOrThrow()
        ).issue_id,
      );
      const report = (await experimentReport(db(), issueId, { now: NOW }))!;
      expect(report.kind).toBe('holdout');
      const held = report.arms.find((a) => a.arm === 'holdout')!;
      const rest = report.arms.find((a) => a.arm === 'rest')!;
      expect(held.size).toBe(Math.round((held.size + rest.size) * 0.1));
      expect(held.delivered).toBe(0);
      const result = report.holdoutResult!;
      expect(result.visits.arms.map((a) => a.arm)).toEqual(['rest', 'holdout']);
      expect(result.visits.sentence).toMatch(/per 1,000|no incremental figure/);
      expect(result.notCompared).toContain('Walk-ins');
    });

    it('the A/B test of the issue before the last: two subjects to 30 %, decided on their readers’ clicks when the wait ends, the winner to the rest', async () => {
      const tested = summary.issues.at(-2)!;
      const report = (await experimentReport(db(), tested.id, { now: NOW }))!;
      expect(report.kind).toBe('ab');
      expect(report.state).toBe('finished');
      expect(report.decidedAt).toBe(tested.sentAt + 4 * HOUR);
      expect(['auto', 'within_noise']).toContain(report.decidedHow);
      const [a, b] = ['A', 'B'].map((key) => report.arms.find((arm) => arm.arm === key)!);
      expect(a!.subject).toBe(tested.subject);
      expect(b!.subject).toMatch(/^This week at the counter: /);
      const rest = report.arms.find((arm) => arm.arm === 'rest')!;
      expect(Math.abs(a!.size - b!.size)).toBeLessThanOrEqual(1);
      expect(a!.size + b!.size).toBe(Math.round((a!.size + b!.size + rest.size) * 0.3));
      expect(rest.delivered).toBeGreaterThan(0);
      expect(['A', 'B']).toContain(report.winnerArm);
      for (const arm of [a!, b!]) {
        expect(arm.delivered).toBeGreaterThan(0);
        // The variants' readers clicked before the decision: each arm's clickers, with its interval.
        expect(arm.clickers.count).toBe(
          await count(
            db(),
            `deliveries where issue_id = ${tested.id} and arm = '${arm.arm}' and first_clicked_at is not null`,
          ),
        );
        expect(arm.clickers.low).toBeLessThanOrEqual(arm.clickers.rate!);
        expect(arm.clickers.high).toBeGreaterThanOrEqual(arm.clickers.rate!);
      }
      expect(report.arms.reduce((n, arm) => n + arm.clickers.count, 0)).toBeGreaterThan(0);
      // The decision recorded is the one the counts give: a winner sentence, or within noise and A to the rest.
      if (report.decidedHow === 'within_noise') expect(report.winnerArm).toBe('A');
      expect(report.decision!.sentence).toMatch(/; it won\.$|within noise/);
    });

    it('the same seed and end make the same history', async () => {
      const again = await demoApp(dialect);
      try {
        const second = await generateDemo(again.app, SMALL, NOW);
        expect(second.counts).toEqual(summary.counts);
        expect(await figures(again.app.db)).toEqual(await figures(db()));
      } finally {
        await again.drop();
      }
    });
  });
}
