import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { browserForFile } from '../helpers/browser.ts';
import { addAccount, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addConfirmedSubscriber, eraseSubscriber, unsubscribe } from '../../src/lib/subscribers/subscribers.service.ts';

const DAY = 86_400_000;

/** Hand-countable: 3 imported 20 days ago, 2 added by hand 10 days ago, one of the imported unsubscribes 2 days ago, one erased today. */
async function seedList(databaseUrl: string, now: number): Promise<void> {
  await withDatabase(databaseUrl, async (db) => {
    const ids: number[] = [];
    for (const email of ['ann@example.com', 'bob@example.com', 'cat@example.com']) {
      const added = await addConfirmedSubscriber(
        db,
        { email, consentNote: 'old list', form: 'import' },
        'user:1',
        now - 20 * DAY,
      );
      if (!added.ok) throw new Error(added.error);
      ids.push(added.value.id!);
    }
    for (const email of ['dee@example.com', 'eve@example.com'])
      await addConfirmedSubscriber(
        db,
        { email, consentNote: 'at the counter', form: 'admin' },
        'user:1',
        now - 10 * DAY,
      );
    await unsubscribe(db, ids[0]!, { method: 'page' }, now - 2 * DAY);
    await eraseSubscriber(db, ids[1]!, now - 60_000);
  });
}

const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`list growth on the dashboard [${dialect}]`, () => {
    let server: RunningServer;
    let browser: Browser;
    let drop: () => Promise<void>;
    let cookie: string;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-e2e-growth-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { PORT: String(await freePort()), SEND_WORKER: '0' },
      });
      await seedList(server.databaseUrl, Date.now());
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

    async function dashboard(width: number, query = '?growth=30d'): Promise<Page> {
      const context = await browser.newContext({
        viewport: { width, height: 900 },
        ...(width < 500 ? { isMobile: true, hasTouch: true } : {}),
      });
      const [name, value] = cookie.split('=') as [string, string];
      await context.addCookies([{ name, value, url: server.url }]);
      const page = await context.newPage();
      await page.goto(`${server.url}/admin${query}`);
      await page.waitForFunction(
        () =>
          (document.querySelector<HTMLElement>('figure[data-chart="list-growth"]')?.dataset.chartState ?? '') !== '',
        undefined,
        { timeout: 10_000 },
      );
      return page;
    }

    /** The numbers table, read from the page (closed by default: read from the DOM, not what is shown). */
    async function table(page: Page): Promise<{ head: string[]; rows: string[][] }> {
      return page.$eval('figure[data-chart="list-growth"] details table', (t) => ({
        head: [...t.querySelectorAll('thead th')].map((th) => th.textContent.trim()),
        rows: [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent.trim())),
      }));
    }

    for (const width of [1280, 375]) {
      it(`at ${width} px: the chart is drawn inside the page, the table closed, the running day marked as so far, and every figure the seeded count`, async () => {
        const page = await dashboard(width);
        const figure = page.locator('figure[data-chart="list-growth"]');
        expect(await figure.getAttribute('data-chart-state')).toBe('drawn');
        expect(await figure.locator('[data-chart-canvas] [role="img"] svg').count()).toBe(2);
        expect(
          await figure.locator('details[data-chart-numbers]').evaluate((d) => (d as HTMLDetailsElement).open),
        ).toBe(false);
        const box = (await figure.locator('[data-chart-canvas]').boundingBox())!;
        expect(box.x + box.width).toBeLessThanOrEqual(width);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
        expect(await figure.getByText('so far').count()).toBeGreaterThan(0);

        const { head, rows } = await table(page);
        expect(head).toEqual([
          'Day',
          'Active at end',
          'Imported',
          'Signup form',
          'Issue referral',
          'Other',
          'Unsubscribed',
          'Bounced or complained',
          'Erased',
        ]);
        expect(rows).toHaveLength(31);
        expect(rows.at(-1)![0]).toMatch(/\(so far\)$/);
        const column = (name: string) => rows.reduce((sum, row) => sum + Number(row[head.indexOf(name)]), 0);
        // Bob's erasure took his history with him: 2 imported are left to count.
        expect([column('Imported'), column('Other'), column('Unsubscribed'), column('Erased')]).toEqual([2, 2, 1, 1]);
        expect(rows.at(-1)![1]).toBe('3');
        expect(await page.locator('#list-growth .counts').innerText()).toMatch(/3\s+active subscribers now/);

        await figure.locator('summary').click();
        const tableBox = (await figure.locator('.chart-table').boundingBox())!;
        expect(tableBox.x + tableBox.width).toBeLessThanOrEqual(width);
        await page.context().close();
      });
    }

    it('the range switch: 12 weeks and 12 months over HTTP, a made-up range refused with a sentence', async () => {
      const weeks = await request(server, '/admin?growth=12w', { cookie });
      expect(weeks.status).toBe(200);
      expect(weeks.text).toContain('Subscribers per week');
      expect((weeks.text.match(/<time [^>]*>w\/c \d+ \w+/g) ?? []).length).toBe(13);
      const months = await request(server, '/admin?growth=12m', { cookie });
      expect(months.text).toContain('Subscribers per month');
      expect((months.text.match(/<time [^>]*>\w+ \d{4}( \(so far\))?</g) ?? []).length).toBe(13);
      const bad = await request(server, '/admin?growth=forever', { cookie });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('There is no list-growth range “forever”');
      expect(bad.text).toContain('Subscribers per week');
    });
  });
}
