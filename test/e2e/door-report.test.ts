import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { browserForFile } from '../helpers/browser.ts';
import { addAccount, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { REPORT_TIME_ZONE, seedReportDatabase, type ReportSeed } from '../helpers/reports.ts';
import { doorFigures, rawDoorIn, rawDoorInByWeekHour } from '../helpers/door.ts';
import { quarterOf } from '../../src/lib/counts/buckets.ts';
import { addDoorCounter, doorCounters, recordDoorCounts } from '../../src/lib/door/door-counts.service.ts';
import { pruneRawEvents } from '../../src/lib/reports/retention.service.ts';
import { eraseSubscriber } from '../../src/lib/subscribers/subscribers.service.ts';

const Q = 15 * 60_000;
const DAY = 86_400_000;

/**
 * A door counter posts 15-minute counts for the two days after issue A went out (and the same
 * hours of earlier weeks, for the lift): the report shows people through the door beside
 * the tapped walk-ins, its figure equal to a direct count of the raw intervals, before and after
 * pruning; on a 375 px phone the door curve is drawn with its table.
 */
const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`people through the door on the issue report [${dialect}]`, () => {
    let server: RunningServer;
    let browser: Browser;
    let drop: () => Promise<void>;
    let seed: ReportSeed;
    let cookie: string;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-e2e-door-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      const port = await freePort();
      seed = await seedReportDatabase(created.url, `http://127.0.0.1:${port}`);
      await withDatabase(created.url, async (db) => {
        const added = await addDoorCounter(db, {
          key: 'front',
          name: 'Front door',
          staffPerDay: 0,
          openingHours: null,
          timeZone: REPORT_TIME_ZONE,
        });
        if (!added.ok) throw new Error('counter not added');
        const counters = await doorCounters(db);
        const start = quarterOf(seed.a.sentAt);
        const items = [];
        // Two days after the send, and the same two days one and two weeks earlier (fewer people).
        for (const [offset, people] of [
          [0, 3],
          [-7 * DAY, 1],
          [-14 * DAY, 1],
        ] as const)
          for (let i = 0; i < 192; i++)
            items.push({
              counterId: added.counter.id,
              from: start + offset + i * Q,
              to: start + offset + (i + 1) * Q,
              countIn: people + (i % 4),
              countOut: people,
            });
        await recordDoorCounts(db, counters, items, 'webhook', seed.now);
      });
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { PORT: String(port), SEND_WORKER: '0' },
      });
      cookie = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'mara@example.com', 'marketer'),
      );
      browser = await sharedBrowser();
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    const shownFigure = async () => {
      const page = await request(server, `/admin/issues/${seed.a.issueId}/report`, { cookie });
      expect(page.status).toBe(200);
      const row = /<tr data-figure="door-in"[^>]*>[\s\S]*?<td class="num"[^>]*>([\d,]+)<\/td>/.exec(page.text);
      const walkIns = /<tr data-figure="walk-ins"[^>]*>[\s\S]*?<td class="num"[^>]*>([\d,]+)<\/td>/.exec(page.text);
      return {
        doorIn: Number(row![1]!.replace(/,/g, '')),
        walkIns: Number(walkIns![1]!.replace(/,/g, '')),
        heatmap: heatmapTable(page.text),
        text: page.text,
      };
    };
    /** The door heatmap's table (every chart has one): its rows as weekday and 24 numbers. */
    const heatmapTable = (html: string) => {
      const door = html.slice(html.indexOf('data-door-counts'));
      const figure = door.slice(door.indexOf('data-chart="week-hour-heatmap"'));
      const body = /<tbody[^>]*>([\s\S]*?)<\/tbody>/.exec(figure)![1]!;
      return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((tr) => ({
        day: /<th[^>]*>([^<]*)<\/th>/.exec(tr[1]!)![1]!.trim(),
        hours: [...tr[1]!.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((td) => Number(td[1]!.replace(/,/g, ''))),
      }));
    };

    it('the report’s count and heatmap equal a direct count of the raw intervals, apart from the tapped walk-ins, and stay after pruning', async () => {
      // The counter has no rule: what it counted is the raw rows' sum.
      const direct = await withDatabase(server.databaseUrl, (db) => rawDoorIn(db, quarterOf(seed.a.sentAt)));
      // 192 quarter hours of 3, 4, 5, 6 people.
      expect(direct).toBe(48 * (3 + 4 + 5 + 6));
      const shown = await shownFigure();
      expect(shown.doorIn).toBe(direct);
      // The seed's one tapped walk-in in issue A's window: its own figure, not added to the door count.
      expect(shown.walkIns).toBe(1);
      expect(shown.text).toContain('Counted by the door counter (Front door)');
      // The heatmap's table: each weekday × hour cell is the raw intervals counted in that hour (site time).
      const byWeekHour = await withDatabase(server.databaseUrl, (db) =>
        rawDoorInByWeekHour(db, { from: quarterOf(seed.a.sentAt), to: Number.MAX_SAFE_INTEGER }, REPORT_TIME_ZONE),
      );
      const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
      expect(byWeekHour.flat().reduce((a, b) => a + b, 0)).toBe(direct);
      expect(byWeekHour.flat().filter((n) => n > 0).length).toBeGreaterThan(24); // two days: many cells, not one
      expect(shown.heatmap).toEqual(weekdays.map((day, row) => ({ day, hours: byWeekHour[row] })));
      const sentence =
        /<p class="lift-sentence"[^>]*><strong[^>]*>24 hours:<\/strong>([^<]*)<\/p>/.exec(
          shown.text.slice(shown.text.indexOf('data-door-counts')),
        )?.[1] ?? '';
      // 96 quarter hours averaging 4.5 people against 2.5 in the two earlier weeks with records.
      expect(sentence).toContain('there were 432 people through the door; a normal week has 240 in those hours');
      // The dashboard's 30 days hold every interval (the earliest is 18 days old): its figure is the direct count of all.
      const all = await withDatabase(server.databaseUrl, (db) => rawDoorIn(db));
      expect(all).toBe(864 + 2 * 480);
      const dashboard = await request(server, '/admin?days=30', { cookie });
      const onDashboard = /data-figure="door-in"[^>]*>\s*<strong[^>]*>([\d,]+)</.exec(dashboard.text);
      expect(Number(onDashboard![1]!.replace(/,/g, ''))).toBe(all);
      const figures = await withDatabase(server.databaseUrl, (db) => doorFigures(db));
      expect(figures.maintained).toEqual(figures.direct);
      // Retention a year on: the raw intervals go, the report's figure does not move.
      const pruned = await withDatabase(server.databaseUrl, (db) => pruneRawEvents(db, seed.now + 400 * DAY));
      expect(pruned.deleted.door_counts).toBe(3 * 192);
      const afterPruning = await shownFigure();
      expect(afterPruning.doorIn).toBe(direct);
      expect(afterPruning.heatmap).toEqual(shown.heatmap);
      // Erasing a subscriber (door counts name nobody) leaves it too.
      const erased = await withDatabase(server.databaseUrl, async (db) => {
        const person = await db.selectFrom('subscribers').select('id').orderBy('id').executeTakeFirstOrThrow();
        return eraseSubscriber(db, Number(person.id));
      });
      expect(erased).toBe(true);
      expect((await shownFigure()).doorIn).toBe(direct);
    });

    it('on a 375 px phone the door curve is drawn, with its table of numbers, and nothing overflows the page', async () => {
      const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
      const [name, value] = cookie.split('=') as [string, string];
      await context.addCookies([{ name, value, url: server.url }]);
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`${server.url}/admin/issues/${seed.a.issueId}/report`);
      const section = page.locator('[data-door-counts]');
      await section.scrollIntoViewIfNeeded();
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll<HTMLElement>('[data-door-counts] figure[data-chart]')].every(
            (f) => f.dataset.chartState === 'drawn',
          ),
        undefined,
        { timeout: 10_000 },
      );
      const charts = await section.locator('figure[data-chart]').evaluateAll((figures) =>
        figures.map((f) => ({
          kind: (f as HTMLElement).dataset.chart,
          svg: !!f.querySelector('svg'),
          rows: f.querySelectorAll('details[data-chart-numbers] table tbody tr').length,
          width: f.getBoundingClientRect().width,
        })),
      );
      expect(charts.length).toBe(2);
      for (const chart of charts) {
        expect(chart.svg).toBe(true);
        expect(chart.rows).toBeGreaterThan(0);
        expect(chart.width).toBeLessThanOrEqual(375);
      }
      await expect(
        section
          .getByRole('heading', { name: /People through the door/ })
          .first()
          .isVisible(),
      ).resolves.toBe(true);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      expect(errors).toEqual([]);
      await context.close();
    });
  });
}
