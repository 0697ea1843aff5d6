import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { browserForFile } from '../helpers/browser.ts';
import { addAccount, apiKeyFor, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createDraftIssue, seedSubscribers } from '../helpers/sending.ts';
import { countRows } from '../helpers/rows.ts';

/**
 * A newsletter sent in outbox mode is a real message with a real recipient's pixel and click
 * tokens. Reading it in the admin's outbox viewer — over HTTP and in Chromium, following a link —
 * must count no open and no click.
 */
const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`the outbox viewer records no tracking [${dialect}]`, () => {
    let server: RunningServer;
    let drop: () => Promise<void>;
    let browser: Browser;
    let marketer: string;
    let file: string;
    let slug: string;

    const count = (table: 'opens' | 'clicks') => withDatabase(server.databaseUrl, (db) => countRows(db, table));

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-outbox-tracking-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({ dataDir: dir, databaseUrl: created.url });
      marketer = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'mara@example.com', 'marketer'),
      );
      const key = await apiKeyFor(server.databaseUrl, 'marketer');
      const issueId = await withDatabase(server.databaseUrl, async (db) => {
        await seedSubscribers(db, 1, { email: () => 'olga@example.com' });
        return createDraftIssue(db, 'Springs are in');
      });
      slug = await withDatabase(
        server.databaseUrl,
        async (db) =>
          (await db.selectFrom('issues').select('slug').where('id', '=', issueId).executeTakeFirstOrThrow()).slug,
      );
      const sent = await request(server, `/api/issues/${issueId}/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: '{"audience": {}}',
      });
      expect(sent.status, sent.text).toBeLessThan(300);
      const deadline = Date.now() + 20_000;
      for (;;) {
        const list = await request(server, '/admin/outbox', { cookie: marketer });
        const found = /href="\/admin\/outbox\/([^"/]+\.eml)">Springs are in<\/a>/.exec(list.text)?.[1];
        if (found) {
          file = found;
          break;
        }
        if (Date.now() > deadline) throw new Error('the newsletter never reached the outbox');
        await new Promise((r) => setTimeout(r, 200));
      }
      browser = await sharedBrowser();
    });
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('serves the message with no /t/o/ or /t/c/ URL: an inert pixel, links straight to their target without UTM tags', async () => {
      const raw = readFileSync(path.join(server.dataDir, 'outbox', file), 'utf8');
      expect(raw).toMatch(/\/t\/o\/[A-Za-z0-9_-]{8,}/); // what the recipient got: the tracked message
      expect(raw).toMatch(/\/t\/c\/[A-Za-z0-9_-]{8,}/);

      const page = await request(server, `/admin/outbox/${file}`, { cookie: marketer });
      const html = await request(server, `/admin/outbox/${file}/html`, { cookie: marketer });
      expect(page.status).toBe(200);
      expect(html.status).toBe(200);
      for (const served of [page.text, html.text]) expect(served).not.toMatch(/\/t\/[oc]\//);
      expect(page.text).toContain('nothing you do here counts as the recipient’s open or click');
      expect(html.text).toMatch(/<img src="data:image\/gif;base64,[A-Za-z0-9+/=]+" width="1" height="1"/);
      const opening = /<a href="([^"]*)" title="([^"]*)"[^>]*>Opening hours<\/a>/.exec(html.text);
      expect(opening, html.text.slice(-3000)).not.toBeNull();
      expect(opening![1]).toBe(`${server.url}/`);
      expect(opening![2]).toContain(`not counted as the recipient’s click`);
      expect(opening![2]).toContain(`utm_campaign=${slug}`);
      // The recipient's own links are not tracking links: they stay.
      expect(html.text).toMatch(/href="http:\/\/127\.0\.0\.1:\d+\/unsubscribe\/[^"]+"/);
      // The text part: the links written out as their targets.
      expect(page.text).toMatch(new RegExp(`Opening hours\\s+\\[${server.url.replace(/\./g, '\\.')}/\\]`));
      expect(await count('opens')).toBe(0);
    });

    it('in Chromium: opening the message and following its link counts no open, no click, no attributed visit', async () => {
      const [name, value] = marketer.split(/=(.*)/s) as [string, string];
      const context = await browser.newContext();
      await context.addCookies([{ name, value, url: server.url }]);
      const admin = await context.newPage();
      admin.setDefaultTimeout(8000);
      await admin.goto(`${server.url}/admin/outbox/${file}`);
      const mail = admin.frameLocator('iframe.mail-frame');
      await mail.getByRole('link', { name: 'Opening hours', exact: true }).waitFor();
      const [tab] = await Promise.all([
        context.waitForEvent('page'),
        mail.getByRole('link', { name: 'Opening hours', exact: true }).click(),
      ]);
      await tab.waitForLoadState();
      expect(new URL(tab.url()).search).toBe('');
      await new Promise((r) => setTimeout(r, 300)); // past the event writer's group commit
      expect(await count('opens')).toBe(0);
      expect(await count('clicks')).toBe(0);
      const attributed = await withDatabase(server.databaseUrl, async (db) =>
        Number(
          (
            await db
              .selectFrom('page_views')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('issue_id', 'is not', null)
              .executeTakeFirstOrThrow()
          ).n,
        ),
      );
      expect(attributed).toBe(0);
      await context.close();

      // The check can fail: the message's own pixel, loaded as a mail program would, is counted.
      const pixel = /(http:\/\/127\.0\.0\.1:\d+\/t\/o\/[A-Za-z0-9_-]+)/.exec(
        readFileSync(path.join(server.dataDir, 'outbox', file), 'utf8'),
      )![1]!;
      expect(
        (
          await fetch(pixel, {
            headers: {
              'user-agent':
                'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
            },
          })
        ).status,
      ).toBe(200);
      expect(await count('opens')).toBe(1);
      expect(readdirSync(path.join(server.dataDir, 'outbox')).filter((f) => f.endsWith('.eml'))).toContain(file);
    });
  });
}
