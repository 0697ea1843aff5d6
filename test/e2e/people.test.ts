import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount } from '../helpers/accounts.ts';
import { createTestDatabaseUrl } from '../helpers/databases.ts';
import { seedReportDatabase, type ReportSeed } from '../helpers/reports.ts';

const MARKETER = { email: 'mara@example.com', password: 'a long passphrase for tests' };

/**
 * From a report's figure to its people in Chromium, on a desktop and a phone: the funnel's
 * "The people" links and a link's unique clickers sit inside the page's width, lead to the
 * list, whose CSV downloads the same people (the hand-counted data of test/helpers/reports.ts).
 * The queries are tested on both databases elsewhere (test/lib/reports/people.test.ts).
 */
describe('the people behind a figure in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let drop: () => Promise<void>;
  let seed: ReportSeed;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'footfall-e2e-people-'));
    const created = await createTestDatabaseUrl('sqlite', dir, { migrated: true });
    drop = created.drop;
    const port = await freePort();
    seed = await seedReportDatabase(created.url, `http://127.0.0.1:${port}`);
    server = await startServer({
      dataDir: dir,
      databaseUrl: created.url,
      env: { PORT: String(port), SEND_WORKER: '0' },
    });
    await addAccount(server.databaseUrl, MARKETER.email, 'marketer', MARKETER.password);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await drop?.();
  });

  for (const width of [1280, 375]) {
    it(`at ${width} px: the report's people links fit the page and lead to the list and its CSV`, async () => {
      const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const report = `/admin/issues/${seed.a.issueId}/report`;
      await page.goto(`${server.url}/admin/login?next=${encodeURIComponent(report)}`);
      await page.getByLabel('Email').fill(MARKETER.email);
      await page.getByLabel('Password').fill(MARKETER.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.url}${report}`);

      const links = page.locator('[data-people-links] a');
      expect(await links.allTextContents()).toEqual([
        'Likely-human openers',
        'clickers',
        'recipients who visited',
        'who came back later',
        'delivered, no human open or click',
      ]);
      for (const box of await links.evaluateAll((els) =>
        els.map((el) => el.getBoundingClientRect().toJSON() as DOMRect),
      )) {
        expect(box.left).toBeGreaterThanOrEqual(0);
        expect(box.right).toBeLessThanOrEqual(width);
        expect(box.height).toBeGreaterThan(0);
      }
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      // A link's unique clickers lead to the people who clicked it.
      await expect.poll(() => page.locator('.link-table a[data-people="clicked"]').count()).toBe(2);

      await links.filter({ hasText: 'clickers' }).click();
      await page.waitForURL(/\/people\?figure=clicked$/);
      expect(await page.locator('h2#people-title').textContent()).toBe('Clickers');
      expect(await page.locator('.people-count strong').textContent()).toBe('3 recipients');
      expect(await page.locator('tr[data-person]').count()).toBe(3);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download as CSV' }).click(),
      ]);
      const rows = parse<{ email: string }>(readFileSync(await download.path(), 'utf8'), { bom: true, columns: true });
      expect(rows.map((r) => r.email).sort()).toEqual(
        (
          await page.locator('tr[data-person]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-person')!))
        ).sort(),
      );

      await page.goBack();
      await page.goBack();
      await page.waitForURL(`${server.url}${report}`);
      await page.locator('.link-table a[data-people="clicked"]').first().click();
      await page.waitForURL(/\/people\?figure=clicked&link=\d+$/);
      expect(await page.locator('tr[data-person]').count()).toBe(2);
      await context.close();
    });
  }
});
