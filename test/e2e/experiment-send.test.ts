import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { browserForFile } from '../helpers/browser.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';
import { shiftedClockEnv } from '../helpers/shifted-clock.ts';

const HOUR = 3_600_000;

/**
 * Issue 19: a marketer sets up an A/B test with a holdout on the send page, confirms, watches the
 * variants go out; the wait ends (the server restarted two hours later: time passed in) and the
 * winner goes to the rest, and the report shows the arms, their intervals and the decision. Real
 * server, real SMTP, Chromium.
 */
const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`an A/B test with a holdout from the send page [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let browser: Browser;
    let drop: () => Promise<void>;
    let cookie: string;
    let dir: string;
    let databaseUrl: string;
    const env = (more: Record<string, string> = {}) => ({
      SMTP_URL: sink.url,
      SEND_POLL_MS: '100',
      MAIL_FROM: 'Frobozz Electric <news@frobozz.example>',
      ...more,
    });

    beforeAll(async () => {
      sink = await startSmtpSink();
      dir = mkdtempSync(path.join(tmpdir(), 'footfall-experiment-e2e-'));
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = db.drop;
      databaseUrl = db.url;
      server = await startServer({ dataDir: dir, databaseUrl, env: env() });
      cookie = await sessionCookie(databaseUrl, await addAccount(databaseUrl, 'marketing@frobozz.example', 'marketer'));
      await withDatabase(databaseUrl, (d) => seedSubscribers(d, 100, { email: (i) => `ab-reader${i}@example.com` }));
      browser = await sharedBrowser();
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    it('sets it up, confirms, sends the variants; when the wait ends the winner goes to exactly the rest and the report says why', async () => {
      const id = await withDatabase(databaseUrl, (d) => createDraftIssue(d, 'Spring widgets'));
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const [name, value] = cookie.split('=') as [string, string];
      await context.addCookies([{ name, value, url: server.url }]);
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      try {
        await page.goto(`${server.url}/admin/issues/${id}/send`);
        await page.getByRole('checkbox', { name: /A\/B test/ }).check();
        await page.locator('#variant-subject-A').fill('Spring widgets are here');
        await page.locator('#variant-subject-B').fill('Half-price springs this week');
        await page.locator('#variant-preheader-B').fill('Only until Sunday');
        await page.getByLabel(/Test share/).fill('40');
        await page.getByLabel(/Wait before the winner/).fill('1');
        await page.getByLabel(/likely-human openers per delivered/).check();
        expect(await page.locator('[data-field="opens-warning"]').isVisible()).toBe(true);
        expect(await page.locator('[data-field="opens-warning"]').textContent()).toContain(
          'Apple Mail Privacy Protection',
        );
        await page.getByLabel(/likely-human clickers per delivered/).check();
        await page.getByRole('checkbox', { name: /^Holdout/ }).check();
        await page.getByLabel(/Holdout share/).fill('20');
        await page.getByRole('button', { name: 'Review the send…' }).click();

        await page.locator('[data-step="confirm"]').waitFor();
        const review = await page.locator('[data-field="experiment"]').textContent();
        expect(review).toMatch(/Variant A to about 20: “Spring widgets are here”/);
        expect(review).toMatch(/Variant B to about 20: “Half-price springs this week” — Only until Sunday/);
        expect(review).toMatch(/about 20 get nothing this time/);
        expect(review).toMatch(/The rest, about 40: the winner, 1 h after sending starts/);
        await page.getByRole('button', { name: 'Send to 100 subscribers' }).click();
        await page.waitForURL(`${server.url}/admin/issues/${id}/progress`);

        await sink.waitFor(40, 30_000);
        const arms = await withDatabase(databaseUrl, (d) =>
          d
            .selectFrom('deliveries')
            .innerJoin('subscribers', 'subscribers.id', 'deliveries.subscriber_id')
            .select(['subscribers.email', 'deliveries.arm'])
            .where('deliveries.issue_id', '=', id)
            .execute(),
        );
        const inArm = (arm: string) => new Set(arms.filter((r) => r.arm === arm).map((r) => r.email));
        await page.goto(`${server.url}/admin/issues/${id}/progress`);
        expect(await page.locator('[data-arm="holdout"] [data-count="size"]').textContent()).toBe('20');
        expect(await page.locator('[data-arm="rest"]').textContent()).toContain('the winner, when chosen');
        expect(await page.getByRole('button', { name: 'Send variant B now to the rest' }).isVisible()).toBe(true);
        expect(await page.locator('[data-field="wait-ends"]').textContent()).toMatch(/in (59|60) minutes|in 1 hour/);
        expect(sink.messages).toHaveLength(40);

        // The wait ends: the same server two hours later (its worker's chore decides at start). The
        // progress page refreshes itself every 2 s while sending: leave it, or its refresh can cut
        // into the next navigation (net::ERR_ABORTED).
        await page.goto('about:blank');
        await server.stop();
        server = await startServer({
          dataDir: dir,
          databaseUrl,
          env: env({ PORT: String(server.port), ...shiftedClockEnv(2 * HOUR) }),
        });
        await sink.waitFor(80, 30_000);
        await eventually(
          async () =>
            (
              await withDatabase(databaseUrl, (d) =>
                d.selectFrom('sends').select('state').where('issue_id', '=', id).executeTakeFirst(),
              )
            )?.state === 'finished',
          'the send to finish',
          20_000,
        );
        const got = sink.envelopes.slice(40).flatMap((e) => e.rcptTo);
        expect(new Set(got)).toEqual(inArm('rest'));
        // Nobody clicked: within noise, the first variant went to the rest.
        expect(new Set(sink.messages.slice(40).map((m) => m.subject))).toEqual(new Set(['Spring widgets are here']));
        expect(sink.envelopes.flatMap((e) => e.rcptTo).filter((to) => inArm('holdout').has(to))).toEqual([]);

        await page.goto(`${server.url}/admin/issues/${id}/progress`);
        expect(await page.locator('[data-field="experiment-state"]').textContent()).toMatch(
          /variant A went to the rest|Sending the winner \(variant A\)/,
        );
        expect(await page.locator('[data-field="decided"]').textContent()).toContain('within noise');
        expect(await page.locator('[data-arm="rest"] [data-count="sent"]').textContent()).toBe('40');
        await page.screenshot({ path: path.join(dir, 'experiment-progress.png'), fullPage: true });

        // The issue's report: the arms with their intervals and the decision in a sentence.
        await page.goto(`${server.url}/admin/issues/${id}/report`);
        const section = page.locator('section[data-experiment="ab_holdout"]');
        expect(await section.isVisible()).toBe(true);
        expect(await section.locator('[data-sentence]').textContent()).toContain(
          'within noise, so variant A, the first, goes to the rest.',
        );
        const rows = section.locator('table.arms-table tbody tr');
        expect(
          await rows.locator('th').evaluateAll((ths) => ths.map((th) => th.firstChild?.textContent?.trim())),
        ).toEqual(['Variant A', 'Variant B', 'The rest', 'Held out']);
        // Nobody clicked: 0 of 20 delivered, whose 95 % Wilson interval is 0 to 16.1 per 100.
        for (const arm of ['A', 'B']) {
          const clickers = section.locator(`tr[data-arm="${arm}"] td[data-measure="clickers"]`);
          expect((await clickers.innerText()).replace(/\s+/g, ' ')).toBe('0.0 (0.0–16.1) 0');
        }
        expect(await section.locator('tr[data-arm="holdout"] td').nth(1).textContent()).toBe('held out');
        expect(await section.locator('tr[data-arm="rest"] td').nth(1).textContent()).toBe('40');
      } finally {
        await context.close();
      }
    });
  });
}
