import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount } from '../helpers/accounts.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { seedReportDatabase, SUBJECT_A, SUBJECT_B, type ReportSeed } from '../helpers/reports.ts';

const MARKETER = { email: 'mara@example.com', password: 'a long passphrase for tests' };

/** Every chart on the page drawn: an SVG in its box, and its table of numbers filled. */
async function chartsOf(page: Page): Promise<{ kind: string; state: string | undefined; svg: boolean; rows: number }[]> {
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLElement>('figure[data-chart]')].every((f) => f.dataset.chartState), undefined, { timeout: 10_000 });
  return page.$$eval('figure[data-chart]', (figures) =>
    figures.map((f) => ({
      kind: (f as HTMLElement).dataset.chart!,
      state: (f as HTMLElement).dataset.chartState,
      svg: !!f.querySelector('[data-chart-canvas] svg[role="img"]'),
      rows: f.querySelectorAll('details[data-chart-numbers] table tbody tr').length,
    })),
  );
}

/** The marketer's way through the reports in Chromium: sign in, compare, sort, read a definition, export, open a report; then the same pages on a phone. */
for (const dialect of testDialects()) {
  describe(`reports in Chromium [${dialect}]`, () => {
    let server: RunningServer;
    let browser: Browser;
    let drop: () => Promise<void>;
    let seed: ReportSeed;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-e2e-reports-'));
      const created = await createTestDatabaseUrl(dialect, dir);
      drop = created.drop;
      const port = await freePort();
      seed = await seedReportDatabase(created.url, `http://127.0.0.1:${port}`);
      server = await startServer({ dataDir: dir, databaseUrl: created.url, env: { PORT: String(port), SEND_WORKER: '0' } });
      await addAccount(server.databaseUrl, MARKETER.email, 'marketer', MARKETER.password);
      browser = await launchBrowser();
    }, 120_000);
    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      await drop?.();
    });

    it('a marketer compares the issues, sorts, exports the CSV and reads an issue’s report with every chart drawn', async () => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));

      await page.goto(`${server.url}/admin/login?next=%2Fadmin%2Freports`);
      await page.getByLabel('Email').fill(MARKETER.email);
      await page.getByLabel('Password').fill(MARKETER.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.url}/admin/reports`);

      const rows = page.locator('table#comparison tbody tr');
      expect(await rows.locator('th').allTextContents()).toEqual([SUBJECT_A, SUBJECT_B]);
      expect(await rows.first().locator('td[data-column="delivered"]').textContent()).toBe('10');
      expect(await rows.first().locator('td[data-column="later-visits"]').textContent()).toBe('1');

      // Sort by the likely-human open rate: first click largest first, second click smallest first.
      await page.getByRole('link', { name: 'Open rate (likely human)', exact: true }).click();
      await page.waitForURL(/sort=human-open-rate&dir=desc/);
      expect(await rows.locator('th').allTextContents()).toEqual([SUBJECT_A, SUBJECT_B]);
      await page.getByRole('link', { name: 'Open rate (likely human)', exact: true }).click();
      await page.waitForURL(/sort=human-open-rate&dir=asc/);
      expect(await rows.locator('th').allTextContents()).toEqual([SUBJECT_B, SUBJECT_A]);
      expect(await page.locator('th[data-column="human-open-rate"]').getAttribute('aria-sort')).toBe('ascending');

      // A heading's definition is one click away.
      await page.getByRole('link', { name: 'What “Later visits” means' }).click();
      await page.waitForURL(/#def-laterVisit$/);
      const definition = page.locator('#def-laterVisit');
      expect(await definition.textContent()).toContain('they came back on their own');
      expect(await definition.isVisible()).toBe(true);
      expect(await definition.evaluate((el) => el.getBoundingClientRect().top >= 0 && el.getBoundingClientRect().top < window.innerHeight)).toBe(true);

      // The CSV comes down in the sort on screen.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
      expect(download.suggestedFilename()).toMatch(/^issues-compared-\d{4}-\d{2}-\d{2}\.csv$/);
      const csv = parse(readFileSync((await download.path())!, 'utf8').replace(/^\uFEFF/, '')) as string[][];
      expect(csv[0]!.slice(0, 4)).toEqual(['Issue', 'Sent (Europe/London)', 'Recipients', 'Delivered']);
      expect(csv.slice(1).map((r) => r[0])).toEqual([SUBJECT_B, SUBJECT_A]);
      const humanOpenRate = csv[0]!.indexOf('Open rate (likely human) (%)');
      expect(csv.slice(1).map((r) => r[humanOpenRate])).toEqual(['50', '60']);

      // The report, from its subject.
      await page.getByRole('link', { name: SUBJECT_A }).first().click();
      await page.waitForURL(`${server.url}/admin/issues/${seed.a.issueId}/report`);
      expect(await page.locator('h1').textContent()).toBe('Issue report');
      const charts = await chartsOf(page);
      expect(charts.map((c) => c.kind)).toEqual(['funnel-bars', 'cumulative-curves', 'cumulative-curves', 'cumulative-curves', 'cumulative-curves', 'week-hour-heatmap', 'week-hour-heatmap', 'week-hour-heatmap', 'week-hour-heatmap', 'week-hour-heatmap', 'grouped-bars']);
      for (const chart of charts) {
        expect(chart, chart.kind).toMatchObject({ state: 'drawn', svg: true });
        expect(chart.rows, chart.kind).toBeGreaterThan(0);
      }
      // The funnel's bars carry the numbers the table has.
      expect(await page.locator('figure[data-chart="funnel-bars"] details table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.children[1]!.textContent))).toEqual(['12', '10', '8', '6', '3', '2', '1']);
      expect(await page.locator('figure[data-chart="funnel-bars"] [data-chart-canvas] svg').textContent()).toContain('Opened (likely human)');
      expect(await page.locator('.link-table tbody tr').count()).toBe(5);
      expect(await page.locator('[data-lift] .lift-sentence').count()).toBe(6);
      expect(await page.locator('[data-lift="call"] tbody tr').first().locator('td').nth(2).textContent()).toMatch(/^[+−]?\d/);
      expect(errors).toEqual([]);

      // The dashboard's visits chart, sends marked.
      await page.goto(`${server.url}/admin`);
      const dashboard = await chartsOf(page);
      // Its tables: a row per day of the last 30, and the two sends.
      expect(dashboard).toEqual([{ kind: 'time-series', state: 'drawn', svg: true, rows: 32 }]);
      expect(await page.locator('figure[data-chart="time-series"] [data-chart-canvas] svg').textContent()).toContain(SUBJECT_A);
      await context.close();
    });

    it('on a 375 px phone the pages fit; the comparison table scrolls inside its box', async () => {
      const context = await browser.newContext({ viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(`${server.url}/admin/login?next=%2Fadmin%2Freports`);
      await page.getByLabel('Email').fill(MARKETER.email);
      await page.getByLabel('Password').fill(MARKETER.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.url}/admin/reports`);

      const pageWidth = () => page.evaluate(() => document.documentElement.scrollWidth);
      expect(await pageWidth()).toBeLessThanOrEqual(375);
      const box = page.locator('.comparison-wrap');
      const { scrollWidth, clientWidth } = await box.evaluate((el) => ({ scrollWidth: el.scrollWidth, clientWidth: el.clientWidth }));
      expect(scrollWidth).toBeGreaterThan(clientWidth);
      await box.evaluate((el) => el.scrollBy(600, 0));
      // The name stays in view while the numbers scroll.
      const subject = await page.locator('table#comparison tbody th').first().boundingBox();
      expect(subject!.x).toBeGreaterThanOrEqual(0);
      expect(subject!.x).toBeLessThan(60);

      for (const path of [`/admin/issues/${seed.a.issueId}/report`, '/admin', '/admin/articles']) {
        await page.goto(server.url + path);
        const charts = await chartsOf(page);
        for (const chart of charts) expect(chart, `${path} ${chart.kind}`).toMatchObject({ state: 'drawn', svg: true });
        expect(await pageWidth(), path).toBeLessThanOrEqual(375);
      }
      await context.close();
    });
  });
}
