import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { browserForFile, viewportsFor } from '../helpers/browser.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, apiKeyFor, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';

const UNDO_SECONDS = 3;

/**
 * Issue 17, items 12 and 13: a send to nobody is refused (API and admin) and burns nothing; a real
 * send goes through a confirmation step naming the audience size and the time, and "now" waits
 * out an undo window during which Stop sends nothing. Real server, real SMTP, Chromium at 375
 * and 1280 px.
 */
const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`the first send [${dialect}]`, () => {
    let server: RunningServer;
    let sink: SmtpSink;
    let browser: Browser;
    let drop: () => Promise<void>;
    let marketerKey: string;
    let marketerCookie: string;

    beforeAll(async () => {
      sink = await startSmtpSink();
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-first-send-'));
      const db = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = db.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: db.url,
        env: { SMTP_URL: sink.url, SEND_POLL_MS: '100', SEND_UNDO_SECONDS: String(UNDO_SECONDS) },
      });
      const marketer = await addAccount(server.databaseUrl, 'marketing@frobozz.example', 'marketer');
      marketerCookie = await sessionCookie(server.databaseUrl, marketer);
      marketerKey = await apiKeyFor(server.databaseUrl, 'marketer');
      browser = await sharedBrowser();
    });
    afterAll(async () => {
      await server?.stop();
      await sink?.close();
      await drop?.();
    });

    const api = (method: string, p: string, body?: unknown) =>
      request(server, p, {
        method,
        headers: { authorization: `Bearer ${marketerKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const issue = (subject: string) => withDatabase(server.databaseUrl, (db) => createDraftIssue(db, subject));
    const issueRow = (id: number) =>
      withDatabase(server.databaseUrl, (db) =>
        db.selectFrom('issues').select(['status', 'slug']).where('id', '=', id).executeTakeFirstOrThrow(),
      );
    const sendRow = (id: number) =>
      withDatabase(server.databaseUrl, (db) =>
        db.selectFrom('sends').selectAll().where('issue_id', '=', id).executeTakeFirst(),
      );

    it('nobody to send to: the API answers 409 and the admin says so, with no send, no archive entry, the issue still a draft', async () => {
      const id = await issue('Sent to nobody');
      const refused = await api('POST', `/api/issues/${id}/send`, { audience: {} });
      expect(refused.status).toBe(409);
      expect(JSON.parse(refused.text)).toMatchObject({
        error: 'conflict',
        field: 'audience',
        message: expect.stringMatching(/^Nobody would get this issue/),
      });

      const page = await request(server, `/admin/issues/${id}/send`, { cookie: marketerCookie });
      expect(page.text).toContain('Nobody is subscribed yet, so there is nobody to send to.');
      expect(page.text).toMatch(/<button class="button" type="submit" disabled>Review the send/);
      const forced = await request(server, `/admin/issues/${id}/send?_action=sending.send`, {
        method: 'POST',
        cookie: marketerCookie,
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams({ issueId: String(id), audience: 'all', when: 'now', confirmed: 'yes' }).toString(),
      });
      expect(forced.status).toBe(409);
      expect(forced.text).toContain('Nobody would get this issue');

      expect(await sendRow(id)).toBeUndefined();
      const { status, slug } = await issueRow(id);
      expect(status).toBe('draft');
      expect((await request(server, `/newsletter/${slug}/`)).status).toBe(404);
      expect((await request(server, '/newsletter/')).text).not.toContain(slug);
      expect(sink.messages).toHaveLength(0);
    });

    it('API: "now" is scheduled the undo window ahead; DELETE before it sends nothing and makes the issue a draft again', async () => {
      await withDatabase(server.databaseUrl, (db) =>
        seedSubscribers(db, 4, { email: (i) => `api-reader${i}@example.com` }),
      );
      const id = await issue('Stopped over the API');
      const before = Date.now();
      const sent = await api('POST', `/api/issues/${id}/send`, { audience: {} });
      expect(sent.status).toBe(202);
      const body = JSON.parse(sent.text);
      expect(body).toMatchObject({ state: 'scheduled', recipients: 4, created: true });
      expect(body.scheduled_at).toBeGreaterThanOrEqual(before + UNDO_SECONDS * 1000);
      expect(body.scheduled_at).toBeLessThanOrEqual(Date.now() + UNDO_SECONDS * 1000);

      const stopped = await api('DELETE', `/api/issues/${id}/send`);
      expect(stopped.status).toBe(200);
      expect(JSON.parse(stopped.text)).toMatchObject({ removed: true, skipped: 0 });
      expect((await api('DELETE', `/api/issues/${id}/send`)).status).toBe(404);
      await new Promise((r) => setTimeout(r, UNDO_SECONDS * 1000 + 500));
      expect(sink.messages).toHaveLength(0);
      expect(await issueRow(id)).toMatchObject({ status: 'draft' });
    });

    for (const viewport of viewportsFor(dialect, [
      { width: 375, height: 740 },
      { width: 1280, height: 900 },
    ])) {
      it(`admin at ${viewport.width} px: review names the audience and the time; Stop in the window sends nothing; confirmed and left alone it goes, then links its report`, async () => {
        await withDatabase(server.databaseUrl, async (db) => {
          await db.deleteFrom('subscribers').execute();
          await seedSubscribers(db, 3, { email: (i) => `reader${i}-${viewport.width}@example.com` });
        });
        const id = await issue(`Winter widgets ${viewport.width}`);
        const context = await browser.newContext({ viewport });
        await context.addCookies([
          { name: marketerCookie.split('=')[0]!, value: marketerCookie.split('=')[1]!, url: server.url },
        ]);
        const page = await context.newPage();
        page.setDefaultTimeout(10_000);
        try {
          await page.goto(`${server.url}/admin/issues/${id}/send`);
          await page.getByRole('button', { name: 'Review the send…' }).click();
          await page.locator('[data-step="confirm"]').waitFor();
          expect(await page.locator('h2#confirm-title').textContent()).toBe('Send to 3 subscribers?');
          expect(await page.locator('[data-field="when"]').textContent()).toMatch(
            /first message goes out in 3 seconds after you confirm/,
          );
          expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
          expect(await sendRow(id)).toBeUndefined();

          // Confirmed: the progress page counts down and offers Stop.
          await page.getByRole('button', { name: 'Send to 3 subscribers' }).click();
          await page.waitForURL(`${server.url}/admin/issues/${id}/progress`);
          expect(await page.locator('[data-field="countdown"]').textContent()).toMatch(
            /The first message goes out (in \d seconds?|now)/,
          );
          await page.screenshot({ path: path.join(server.dataDir, `undo-${viewport.width}.png`), fullPage: true });
          await page.getByRole('button', { name: 'Stop: send nothing' }).click();
          await page.waitForURL(`${server.url}/admin/issues/${id}/send?notice=stopped`);
          expect(await page.locator('.alert--ok').textContent()).toContain(
            'nothing was sent, and the issue is a draft again',
          );
          await page.waitForTimeout(UNDO_SECONDS * 1000 + 500);
          expect(sink.envelopes.filter((e) => e.rcptTo[0]!.endsWith(`-${viewport.width}@example.com`))).toHaveLength(0);

          // Again, and left alone: it starts when the window closes; the finished page links its report.
          await page.getByRole('button', { name: 'Review the send…' }).click();
          await page.getByRole('button', { name: 'Send to 3 subscribers' }).click();
          await page.waitForURL(`${server.url}/admin/issues/${id}/progress`);
          const confirmedAt = Date.now();
          await eventually(async () => (await sendRow(id))?.state === 'finished', 'the send to finish', 20_000);
          const started = Number((await sendRow(id))!.started_at);
          expect(started).toBeGreaterThanOrEqual(confirmedAt + UNDO_SECONDS * 1000 - 1500);
          // The progress page reloads itself when the send's state changes: load it until the finished page is what shows.
          const report = page.getByRole('link', { name: 'See the report →' });
          await eventually(
            async () => {
              await page.goto(`${server.url}/admin/issues/${id}/progress`).catch(() => undefined);
              return (await report.count()) > 0;
            },
            'the finished page to link its report',
            20_000,
          );
          await report.click();
          await page.waitForURL(`${server.url}/admin/issues/${id}/report`);
          expect(sink.envelopes.filter((e) => e.rcptTo[0]!.endsWith(`-${viewport.width}@example.com`))).toHaveLength(3);
        } finally {
          await context.close();
        }
      });
    }
  });
}
