import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createDatabase } from '../../src/lib/db/database.ts';
import { quarterOf } from '../../src/lib/counts/buckets.ts';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { browserForFile } from '../helpers/browser.ts';
import { addAccount, apiKeyFor, request } from '../helpers/accounts.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { seedReportDatabase } from '../helpers/reports.ts';
import { seedExperimentIssue, type Seeded } from '../helpers/experiments.ts';

const MARKETER = { email: 'mara@example.com', password: 'a long passphrase for tests' };
const DAY = 86_400_000;

/**
 * An issue's report with an A/B test and a holdout (issue 19), in Chromium at a desktop width and
 * at 375 px: the arms with their sizes and per-100 rates with intervals, the difference between
 * the variants and the sentence, readable without the page scrolling sideways.
 *
 *   A: 3 of 4 clickers (75.0 per 100, 30.1–95.4); B: 2 of 4 (50.0, 15.0–85.0)
 *   the best, A, against B: 25.0 per 100 (−32.0 to 65.5) → within noise, the pair the sentence quotes
 *
 * The holdout result on visits: recipients known before the send 6 of 10 (A 4 of 4, B 2 of 4, the rest 0 of 2),
 * 4 of them visited (A0, A1, B0, B1); held out 2 of 2 known, none visited. 666.7 more per 1,000: Newcombe
 * from Wilson 4/6 (30.0 %–90.3 %) and 0/2 (0–65.8 %): −86.3 to 903.2, within noise.
 */
const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`an experiment's report in Chromium [${dialect}]`, () => {
    let server: RunningServer;
    let browser: Browser;
    let drop: () => Promise<void>;
    let seeded: Seeded;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-e2e-experiment-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      const port = await freePort();
      const siteUrl = `http://127.0.0.1:${port}`;
      await seedReportDatabase(created.url, siteUrl);
      const db = createDatabase(created.url, { poolSize: 1 });
      try {
        const sent = quarterOf(Date.now() - 2 * DAY);
        seeded = await seedExperimentIssue(db, sent, siteUrl);
        // Readers known before the send (their reader cookie set by an earlier issue's click): all of A, B's
        // first two (their visits after the send carry the cookie: A0, A1, B0, B1), and both held out.
        const known = [...seeded.arms.A, ...seeded.arms.B.slice(0, 2), ...seeded.arms.holdout].map(
          (d) => d.subscriberId,
        );
        await db
          .updateTable('subscribers')
          .set({ reader_known_at: sent - DAY })
          .where('id', 'in', known)
          .execute();
      } finally {
        await db.destroy();
      }
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { PORT: String(port), SEND_WORKER: '0' },
      });
      await addAccount(server.databaseUrl, MARKETER.email, 'marketer', MARKETER.password);
      browser = await sharedBrowser();
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('the report API carries every arm with its counts, rates and intervals, and the decision', async () => {
      const key = await apiKeyFor(server.databaseUrl, 'marketer');
      const answer = await request(server, `/api/issues/${seeded.issue.issueId}/report`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(answer.status).toBe(200);
      const body = JSON.parse(answer.text) as {
        experiment: {
          kind: string;
          arms: {
            arm: string;
            size: number;
            delivered: number;
            human_clickers: { count: number; rate: number | null; low: number; high: number };
          }[];
          decision: { kind: string; key: string; sentence: string };
        };
      };
      expect(body.experiment.kind).toBe('ab_holdout');
      expect(body.experiment.arms.map((a) => [a.arm, a.size, a.delivered, a.human_clickers.count])).toEqual([
        ['A', 4, 4, 3],
        ['B', 4, 4, 2],
        ['rest', 2, 2, 1],
        ['holdout', 2, 0, 0],
      ]);
      expect(body.experiment.arms[0]!.human_clickers.low).toBeCloseTo(0.300642, 5);
      expect(body.experiment.arms[3]!.human_clickers).toEqual({ count: 0, rate: null, low: 0, high: 1 });
      expect(body.experiment.decision).toMatchObject({ kind: 'within_noise', key: 'A' });
      const holdout = (
        body.experiment as unknown as {
          holdout_result: {
            visits: {
              arms: { arm: string; identifiable: number; size: number; people: number }[];
              effect_per_1000: { difference: number; low: number; high: number };
            };
          };
        }
      ).holdout_result;
      expect(holdout.visits.arms.map((a) => [a.arm, a.identifiable, a.size, a.people])).toEqual([
        ['A', 4, 4, 2],
        ['B', 2, 4, 2],
        ['rest', 0, 2, 0],
        ['holdout', 2, 2, 0],
      ]);
      expect(holdout.visits.effect_per_1000.difference).toBeCloseTo(666.667, 2);
      expect(holdout.visits.effect_per_1000.low).toBeCloseTo(-86.27, 1);
    });

    it('shows the arms, their intervals, the sentence and the holdout result (identifiable share, effect per 1,000 with its interval, sentence) at 1280 and 375 px', async () => {
      for (const width of [1280, 375]) {
        const context = await browser.newContext({ viewport: { width, height: 900 } });
        const page = await context.newPage();
        page.setDefaultTimeout(10_000);
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(String(error)));
        const next = `/admin/issues/${seeded.issue.issueId}/report`;
        await page.goto(`${server.url}/admin/login?next=${encodeURIComponent(next)}`);
        await page.getByLabel('Email').fill(MARKETER.email);
        await page.getByLabel('Password').fill(MARKETER.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(`${server.url}${next}`);

        const section = page.locator('section[data-experiment="ab_holdout"]');
        await expect.poll(() => section.isVisible()).toBe(true);
        expect(await section.getByRole('heading', { level: 2 }).textContent()).toContain('A/B test with a holdout');
        const sentence = section.locator('[data-sentence]');
        expect(await sentence.isVisible()).toBe(true);
        expect(await sentence.textContent()).toContain(
          'Variant A brought 25.0 more clickers per 100 delivered (−32.0 to 65.5): within noise, so variant A, the first, goes to the rest.',
        );
        const rows = section.locator('table.arms-table tbody tr');
        expect(
          await rows.locator('th').evaluateAll((ths) => ths.map((th) => th.firstChild?.textContent?.trim())),
        ).toEqual(['Variant A', 'Variant B', 'The rest', 'Held out']);
        const clickersA = rows.nth(0).locator('td[data-measure="clickers"]');
        expect(await clickersA.isVisible()).toBe(true);
        expect((await clickersA.innerText()).replace(/\s+/g, ' ')).toBe('75.0 (30.1–95.4) 3');
        expect((await rows.nth(1).locator('td[data-measure="clickers"]').innerText()).replace(/\s+/g, ' ')).toBe(
          '50.0 (15.0–85.0) 2',
        );
        expect(await rows.nth(3).locator('td').nth(1).textContent()).toBe('held out');
        expect(
          await section
            .locator('table.arms-table thead th')
            .evaluateAll((ths) => ths.map((th) => th.firstChild?.textContent?.trim())),
        ).toEqual([
          'Arm',
          'Size',
          'Delivered',
          'Likely-human openers',
          'Human clickers',
          'Recipients who visited',
          'Came back later',
          'Called',
          'Signups they referred',
        ]);
        // The holdout result: the share identifiable, the effect per 1,000 with its interval, the sentence.
        const result = section.locator('[data-holdout-result] [data-outcome="visits"]');
        expect(await result.isVisible()).toBe(true);
        expect(await result.locator('[data-holdout-sentence]').textContent()).toContain(
          'There were 666.7 more visitors per 1,000 recipients whose browser was known before the send than in the held-out group (−86.3 to 903.2): within noise',
        );
        const effect = result.locator('[data-effect]');
        expect(await effect.isVisible()).toBe(true);
        expect((await effect.innerText()).replace(/\s+/g, ' ')).toBe(
          'Incremental effect: 666.7 per 1,000 (95 % interval −86.3 to 903.2)',
        );
        const identifiable = result.locator('tr[data-arm="holdout"] td[data-identifiable]');
        expect(await identifiable.isVisible()).toBe(true);
        expect(await identifiable.textContent()).toBe('2 of 2 (100 %)');
        expect(await result.locator('tr[data-arm="recipients"] td[data-identifiable]').textContent()).toBe(
          '6 of 10 (60 %)',
        );
        expect(await section.locator('[data-not-compared]').isVisible()).toBe(true);
        // A's later visitors: 1 of 4 delivered (Wilson 4.6–69.9), the later visit beside them.
        expect((await rows.nth(0).locator('td[data-measure="laterVisitors"]').innerText()).replace(/\s+/g, ' ')).toBe(
          '25.0 (4.6–69.9) 1 · 1 later visit',
        );
        const difference = section.locator('tr[data-difference="A-B"]');
        expect((await difference.innerText()).replace(/\s+/g, ' ')).toBe('A − B (quoted) 25.0 −32.0 to 65.5');
        // The page itself does not scroll sideways; wide tables scroll inside their own box.
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
        expect(errors).toEqual([]);
        await context.close();
      }
    });
  });
}
