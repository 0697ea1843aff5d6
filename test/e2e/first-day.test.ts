import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { browserForFile, viewportsFor } from '../helpers/browser.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { addAccount, apiKeyFor, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { createDraftIssue, eventually, seedSubscribers } from '../helpers/sending.ts';
import { builtArticlePaths } from '../helpers/site.ts';

/** How long each server keeps the Settings it read (5 s by default): what another process waits to see a save. */
const SETTINGS_CACHE_MS = 500;

/**
 * Issue 17, items 14 and 15: a fresh install has no sender and no postal address (the pre-send
 * checks fail until an admin sets them) and its dashboard lists the first steps until done; the
 * public site's header and footer come from Settings, on prerendered pages too, at once in the
 * process that saved them and within the settings cache's few seconds in another process.
 */
const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`a fresh install's first day [${dialect}]`, () => {
    let server: RunningServer;
    let other: RunningServer;
    let browser: Browser;
    let drop: () => Promise<void>;
    let adminCookie: string;
    let adminKey: string;
    const article = builtArticlePaths()[0]!;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-first-day-'));
      const db = await createTestDatabaseUrl(dialect, dir);
      drop = db.drop;
      const env = { SETTINGS_CACHE_MS: String(SETTINGS_CACHE_MS) };
      server = await startServer({ dataDir: dir, databaseUrl: db.url, shop: false, env });
      // A second process on the same database (behind a round-robin, say).
      other = await startServer({
        dataDir: mkdtempSync(path.join(tmpdir(), 'footfall-first-day-b-')),
        databaseUrl: db.url,
        shop: false,
        env,
      });
      const admin = await addAccount(server.databaseUrl, 'owner@shop.example', 'admin');
      adminCookie = await sessionCookie(server.databaseUrl, admin);
      adminKey = await apiKeyFor(server.databaseUrl, 'admin');
      browser = await sharedBrowser();
    });
    afterAll(async () => {
      await other?.stop();
      await server?.stop();
      await drop?.();
    });

    const page = async (p: string, on = server) => (await fetch(on.url + p)).text();
    const footerOf = (html: string) => /<footer class="site-footer">([^]*?)<\/footer>/.exec(html)?.[1] ?? '';

    it('has no sender, postal address, phone or hours: the checks refuse a send saying what to set, and the site shows none of the example shop', async () => {
      const id = await withDatabase(server.databaseUrl, async (db) => {
        await seedSubscribers(db, 2, { email: (i) => `early${i}@example.com` });
        return createDraftIssue(db, 'Too early');
      });
      // createDraftIssue stores a postal address: take it away again, as on a fresh install.
      await withDatabase(server.databaseUrl, (db) => db.deleteFrom('settings').execute());
      await new Promise((r) => setTimeout(r, SETTINGS_CACHE_MS + 100));
      const issue = JSON.parse(
        (await request(server, `/api/issues/${id}`, { headers: { authorization: `Bearer ${adminKey}` } })).text,
      );
      expect(issue.ready).toBe(false);
      const errors = issue.checks
        .filter((c: { status: string }) => c.status === 'error')
        .map((c: { id: string; message: string }) => `${c.id}: ${c.message}`);
      expect(errors).toEqual([
        expect.stringMatching(/^sender: No sender is set yet: enter the sender’s name and address under Settings/),
        expect.stringMatching(/^postal-address: No postal address is set/),
      ]);
      const refused = await request(server, `/api/issues/${id}/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(/No sender is set yet/);

      // (The shipped articles' own text still mentions their shop: that is content, replaced with your own.)
      const home = await page('/');
      const post = await page(article);
      const shown = [
        /<header[^]*?<\/header>/.exec(home)![0],
        /<section class="hero"[^]*?<\/section>/.exec(home)![0],
        footerOf(home),
        footerOf(post),
        /<aside class="call-out"[^]*?<\/aside>/.exec(post)![0],
      ];
      for (const part of shown)
        expect(part).not.toMatch(/Flathead|Port Foozle|555|localhost|store-card|brand-town|tel:/);
      for (const html of [home, post]) {
        expect(footerOf(html)).not.toContain('footer-grid');
        expect(html).not.toContain('\uE000');
      }

      // Account mail still goes out meanwhile (the first admin invites the staff), from a placeholder address.
      const invited = await request(server, '/admin/users?_action=users.invite', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: 'email=staff%40shop.example&name=Staff&role=marketer',
        cookie: adminCookie,
      });
      expect(invited.text).toContain('Invitation sent to staff@shop.example.');
      const outbox = readdirSync(path.join(server.dataDir, 'outbox'));
      expect(outbox).toHaveLength(1);
      expect(readFileSync(path.join(server.dataDir, 'outbox', outbox[0]!), 'utf8')).toMatch(
        /^From: Frobozz Electric <footfall@localhost>\r$/m,
      );
    });

    it('the dashboard lists the first steps until they are done, then not at all', async () => {
      const dashboard = await request(server, '/admin', { cookie: adminCookie });
      const steps = [...dashboard.text.matchAll(/data-step="([a-z-]+)" data-done="(yes|no)"/g)].map(
        (m) => `${m[1]}:${m[2]}`,
      );
      // Subscribers were added in the test before; nothing else is done.
      expect(steps).toEqual(['sender:no', 'postal-address:no', 'time-zone:no', 'import:yes', 'first-issue:no']);
      expect(dashboard.text).toContain('4 steps left');
      expect(dashboard.text).toContain('href="/admin/settings#field-senderName"');

      for (const viewport of [
        { width: 375, height: 800 },
        { width: 1280, height: 900 },
      ]) {
        const context = await browser.newContext({ viewport });
        await context.addCookies([
          { name: adminCookie.split('=')[0]!, value: adminCookie.split('=')[1]!, url: server.url },
        ]);
        const tab = await context.newPage();
        try {
          await tab.goto(`${server.url}/admin`);
          const list = tab.locator('[data-first-steps]');
          expect(await list.isVisible()).toBe(true);
          // The list is the first thing on the dashboard, each open step a link to where it is done.
          expect((await list.boundingBox())!.y).toBeLessThan(viewport.height);
          expect(await list.getByRole('link').allTextContents()).toEqual([
            'Set the sender',
            'Enter your postal address',
            'Confirm the time zone',
            'Write and send your first issue',
          ]);
          expect(await tab.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
          await list.getByRole('link', { name: 'Enter your postal address' }).click();
          await tab.waitForURL(`${server.url}/admin/settings#field-postalAddress`);
        } finally {
          await context.close();
        }
      }
    });

    for (const viewport of viewportsFor(dialect, [
      { width: 375, height: 800 },
      { width: 1280, height: 900 },
    ])) {
      it(`an admin at ${viewport.width} px sets the shop up in Settings: a clean URL after saving, and every page — prerendered ones too — shows it at once`, async () => {
        const context = await browser.newContext({ viewport });
        await context.addCookies([
          { name: adminCookie.split('=')[0]!, value: adminCookie.split('=')[1]!, url: server.url },
        ]);
        const tab = await context.newPage();
        tab.setDefaultTimeout(10_000);
        const place = `Quayside ${viewport.width}`;
        try {
          const etagBefore = (await fetch(server.url + article)).headers.get('etag');
          await tab.goto(`${server.url}/admin/settings`);
          await tab.getByLabel('Sender name').fill('Quayside Widgets');
          await tab.getByLabel('Sender address').fill('news@quayside.example');
          await tab.getByLabel('Postal address').fill('Quayside Widgets\n3 Harbour Street\nKingsbridge TQ7 1AA');
          await tab.getByLabel('Time zone').fill('Europe/London');
          await tab.getByLabel('Place name').fill(place);
          await tab.getByLabel('Phone number').fill('+44 1548 850 000');
          // A line that is not "days: hours": refused, naming the line; nothing stored.
          await tab.getByLabel('Opening hours').fill('Monday – Friday: 9:00 – 17:30\nweekends by appointment');
          await tab.getByRole('button', { name: 'Save settings' }).click();
          await tab.locator('#field-openingHours-error').waitFor();
          expect(await tab.locator('#field-openingHours-error').textContent()).toContain('(line 2 is not)');
          expect(await tab.getByLabel('Place name').inputValue()).toBe(place);
          expect(await page(article)).not.toContain(place);

          await tab
            .getByLabel('Opening hours')
            .fill('Monday – Friday: 9:00 – 17:30\nSaturday: 10:00 – 16:00\nSunday: Closed');
          await tab.getByRole('button', { name: 'Save settings' }).click();
          await tab.getByText('Settings saved.').waitFor();
          expect(tab.url()).toBe(`${server.url}/admin/settings`);
          expect(await tab.getByLabel('Opening hours').inputValue()).toBe(
            'Monday – Friday: 9:00 – 17:30\nSaturday: 10:00 – 16:00\nSunday: Closed',
          );
          // Phone field styled like the others, the number kept as typed.
          expect(await tab.getByLabel('Phone number').inputValue()).toBe('+44 1548 850 000');
          const looks = (label: string) =>
            tab.getByLabel(label).evaluate((el) => {
              const c = getComputedStyle(el);
              return [
                c.borderTopWidth,
                c.borderTopColor,
                c.paddingTop,
                c.fontSize,
                c.borderTopLeftRadius,
                c.width === '100%' || el.getBoundingClientRect().width > 150,
              ];
            });
          expect(await looks('Phone number')).toEqual(await looks('Place name'));
          await tab.screenshot({ path: path.join(server.dataDir, `settings-${viewport.width}.png`), fullPage: true });
          expect(await tab.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);

          // The prerendered article page, served by the same process: at once, with a new ETag.
          const served = await fetch(server.url + article, {
            headers: etagBefore ? { 'if-none-match': etagBefore } : {},
          });
          expect(served.status).toBe(200);
          expect(served.headers.get('etag')).not.toBe(etagBefore);
          const html = await served.text();
          expect(Number(served.headers.get('content-length'))).toBe(Buffer.byteLength(html));
          const footer = footerOf(html);
          expect(footer).toContain('Quayside Widgets<br />3 Harbour Street<br />Kingsbridge TQ7 1AA');
          expect(footer).toContain('<a class="phone" href="tel:+441548850000">+44 1548 850 000</a>');
          expect(footer).toContain('<dt>Saturday</dt><dd>10:00 – 16:00</dd>');
          expect(html).toContain(`<span class="brand-town">${place}</span>`);
          expect(html).toContain('Come by at Quayside Widgets, 3 Harbour Street, Kingsbridge TQ7 1AA, or call us on');

          await tab.goto(server.url + article);
          expect(await tab.locator('.site-footer address').innerText()).toBe(
            'Quayside Widgets\n3 Harbour Street\nKingsbridge TQ7 1AA',
          );
          expect(await tab.locator('.brand-town').textContent()).toBe(place);
          expect(await tab.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
          await tab.screenshot({ path: path.join(server.dataDir, `footer-${viewport.width}.png`), fullPage: true });

          // The other process reads the same settings within its cache's few seconds.
          await eventually(
            async () => (await page(article, other)).includes(`<span class="brand-town">${place}</span>`),
            'the second process to show the new place',
            SETTINGS_CACHE_MS + 3000,
          );
          expect(footerOf(await page('/', other))).toContain('+44 1548 850 000');
        } finally {
          await context.close();
        }
      });
    }

    it('with the settings done and a first issue sent, the first steps are gone', async () => {
      const before = await request(server, '/admin', { cookie: adminCookie });
      expect([...before.text.matchAll(/data-step="([a-z-]+)" data-done="no"/g)].map((m) => m[1])).toEqual([
        'first-issue',
      ]);
      const id = await withDatabase(server.databaseUrl, (db) => createDraftIssue(db, 'Our first issue'));
      const sent = await request(server, `/api/issues/${id}/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(sent.status, sent.text).toBe(202);
      const after = await request(server, '/admin', { cookie: adminCookie });
      expect(after.text).not.toContain('data-first-steps');
    });
  });
}
