import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { browserForFile } from '../helpers/browser.ts';
import { addAccount, apiKeyFor, request, sessionCookie } from '../helpers/accounts.ts';
import { createTestDatabaseUrl, testDialects } from '../helpers/databases.ts';
import { clickUrl, openUrl, seedDelivery, TEST_SECRET, withDb } from '../helpers/tracking.ts';
import { markIssueSent } from '../helpers/sending.ts';
import { defaultSettings, saveSettings } from '../../src/lib/settings/settings.service.ts';
import { createIssue, freezeIssue } from '../../src/lib/issues/issues.service.ts';
import type { IssueLink } from '../../src/lib/issues/issue.ts';

const MINUTE = 60_000;
// Real agents (test/fixtures/truth/corpus.json) from home broadband addresses (TRUST_PROXY=1: the last X-Forwarded-For hop is the client).
const AGENTS = {
  appleMailIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1',
  outlookWindows: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.6326; Pro)',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36 Edg/146.0.0.0',
  thunderbird: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0',
};
const HOME = ['73.1.2.3', '73.1.2.4', '81.2.3.4'];
const decode = (text: string) =>
  text
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * Issue 17, items 19 and 20 as a marketer meets them: an issue frozen and sent for real (its
 * snapshot), three readers over HTTP — Apple Mail on an iPhone, Outlook on Windows, Thunderbird —
 * two of them clicking the winter guide; then the report over HTTP, in the JSON API and in
 * Chromium at 1280 and 375 px.
 */
const sharedBrowser = browserForFile();
for (const dialect of testDialects()) {
  describe(`the click map and mail programs [${dialect}]`, () => {
    let server: RunningServer;
    let browser: Browser;
    let drop: () => Promise<void>;
    let marketer: string;
    let issueId: number;
    let guide: IssueLink;
    let society: IssueLink;

    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'footfall-click-map-'));
      const created = await createTestDatabaseUrl(dialect, dir, { migrated: true });
      drop = created.drop;
      server = await startServer({
        dataDir: dir,
        databaseUrl: created.url,
        env: { SECRET: TEST_SECRET, SEND_WORKER: '0', TRUST_PROXY: '1' },
      });
      marketer = await sessionCookie(
        server.databaseUrl,
        await addAccount(server.databaseUrl, 'mara@example.com', 'marketer'),
      );
      const sentAt = Date.now() - 90 * MINUTE;
      const deliveries = await withDb(server.databaseUrl, async (db) => {
        const saved = await saveSettings(
          db,
          {
            ...defaultSettings({ siteUrl: server.url, mail: { from: 'news@frobozz.example' } }),
            timeZone: 'Europe/London',
            postalAddress: '12 Flathead Row\nPort Foozle',
          },
          null,
          sentAt - 30 * 24 * 60 * MINUTE,
        );
        expect(saved.ok).toBe(true);
        const made = await createIssue(
          db,
          {
            subject: 'The winter guide',
            preheader: 'Three things to check',
            body_markdown:
              'Read [the winter guide](/) before the frost, or join [the Flathead Society](https://flathead-society.example/winter?ref=frobozz).',
            featured_articles: [],
          },
          { articles: new Map(), createdBy: null },
          sentAt - 60 * MINUTE,
        );
        if (!made.ok) throw new Error(made.message);
        issueId = made.value.id;
        const snapshot = await freezeIssue(db, issueId, sentAt - MINUTE, { secret: 'click-map-test-secret' });
        guide = snapshot.links.find((l) => l.label === 'the winter guide')!;
        society = snapshot.links.find((l) => l.label === 'the Flathead Society')!;
        await markIssueSent(db, issueId, sentAt);
        return [
          await seedDelivery(db, issueId, sentAt),
          await seedDelivery(db, issueId, sentAt),
          await seedDelivery(db, issueId, sentAt),
          await seedDelivery(db, issueId, sentAt),
        ];
      });
      const hit = (url: string, ip: string, ua: string) =>
        fetch(url, { redirect: 'manual', headers: { 'user-agent': ua, 'x-forwarded-for': ip } });
      // Reader 3 has Apple Mail Privacy Protection on: Apple's fetcher loads the pixel from Apple's network (AS714), read or not.
      expect((await hit(openUrl(server.url, deliveries[3]!.deliveryId), '17.58.101.4', 'Mozilla/5.0')).status).toBe(
        200,
      );
      // Reader 0: Apple Mail on an iPhone opens, then clicks the guide twice in Safari. Reader 1: Outlook on Windows opens, clicks the guide in Edge. Reader 2: Thunderbird opens.
      expect((await hit(openUrl(server.url, deliveries[0]!.deliveryId), HOME[0]!, AGENTS.appleMailIphone)).status).toBe(
        200,
      );
      expect((await hit(openUrl(server.url, deliveries[1]!.deliveryId), HOME[1]!, AGENTS.outlookWindows)).status).toBe(
        200,
      );
      expect((await hit(openUrl(server.url, deliveries[2]!.deliveryId), HOME[2]!, AGENTS.thunderbird)).status).toBe(
        200,
      );
      for (const [i, ua] of [
        [0, AGENTS.safariIphone],
        [0, AGENTS.safariIphone],
        [1, AGENTS.edgeWindows],
      ] as const) {
        expect((await hit(clickUrl(server.url, deliveries[i]!.deliveryId, guide.id), HOME[i]!, ua)).status).toBe(302);
      }
      browser = await sharedBrowser();
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      await drop?.();
    });

    it('over HTTP: the email as it went out in a sandboxed frame, each link with its human clicks and people; the table and the JSON say the same', async () => {
      const page = await request(server, `/admin/issues/${issueId}/report`, { cookie: marketer });
      expect(page.status).toBe(200);
      const frame =
        /<iframe sandbox="" srcdoc="([^"]*)" title="Human clicks on the email: the email at 600 pixels wide"/.exec(
          page.text,
        );
      expect(frame).not.toBeNull();
      const srcdoc = frame![1]!
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&');
      expect(srcdoc).toContain(`${guide.position}: 3 clicks · 2 people`);
      expect(srcdoc).toContain(`${society.position}: 0 clicks · 0 people`);
      expect(srcdoc).not.toMatch(/\/t\/[oc]\//); // looking at it records nothing
      const text = decode(page.text);
      expect(text).toMatch(new RegExp(`${guide.position} the winter guide 127\\.0\\.0\\.1:\\d+ 3 2 0`));
      expect(text).toContain(`${society.position} the Flathead Society flathead-society.example/winter 0 0 0`);
      // Mail programs and devices, with their tables.
      expect(text).toContain(
        'Mail program Opens (likely human) Clicks (human) Apple’s prefetch (machine) Apple Mail 1 0 0 Outlook 1 0 0 Thunderbird 1 0 0 A web browser 0 3 0 Apple Mail Privacy Protection (not a person’s open) 0 0 1',
      );
      expect(text).toContain('1 more pixel load was Apple Mail Privacy Protection fetching the message in advance');
      expect(text).toContain(
        'Device Opens (likely human) Clicks (human) Apple’s prefetch (machine) Desktop 2 1 0 Phone 1 2 0 Apple Mail Privacy Protection (not a person’s open) 0 0 1',
      );
      expect(text).toContain('Mail program The mail program a likely-human open or a human click came from');

      const key = await apiKeyFor(server.databaseUrl, 'marketer');
      const json = JSON.parse(
        (await request(server, `/api/issues/${issueId}/report`, { headers: { authorization: `Bearer ${key}` } })).text,
      );
      expect(
        json.mail_clients
          .filter((r: { human_opens: number; human_clicks: number }) => r.human_opens + r.human_clicks > 0)
          .map((r: { key: string; human_opens: number; human_clicks: number }) => [
            r.key,
            r.human_opens,
            r.human_clicks,
          ]),
      ).toEqual([
        ['apple_mail', 1, 0],
        ['outlook', 1, 0],
        ['thunderbird', 1, 0],
        ['browser', 0, 3],
      ]);
      expect(json.devices.find((r: { key: string }) => r.key === 'phone')).toMatchObject({
        human_opens: 1,
        human_clicks: 2,
      });
      expect(json.mail_clients.at(-1)).toMatchObject({
        key: 'apple_mpp',
        human_opens: 0,
        human_clicks: 0,
        apple_mpp_opens: 1,
      });
    });

    /** Content Security Policy refusals and script errors on the page, the map's frame included. */
    const refusals: string[] = [];
    const open = async (width: number): Promise<Page> => {
      const context = await browser.newContext({
        viewport: { width, height: 900 },
        ...(width < 500 ? { isMobile: true, hasTouch: true } : {}),
      });
      const [name, value] = marketer.split('=') as [string, string];
      await context.addCookies([{ name, value, url: server.url }]);
      const page = await context.newPage();
      refusals.length = 0;
      page.on(
        'console',
        (message) =>
          message.type() === 'error' &&
          /Content Security Policy|Refused to/i.test(message.text()) &&
          refusals.push(message.text()),
      );
      page.on('pageerror', (error) => refusals.push(String(error)));
      page.setDefaultTimeout(10_000);
      await page.goto(`${server.url}/admin/issues/${issueId}/report`);
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLElement>('figure[data-chart]')].every((f) => f.dataset.chartState),
      );
      return page;
    };

    for (const width of [1280, 375]) {
      it(`in Chromium at ${width} px: the badges sit beside their links inside the frame, the page does not scroll sideways, the charts are drawn and their tables read across`, async () => {
        const page = await open(width);
        const frame = page.frameLocator('iframe[title^="Human clicks on the email"]');
        const badge = frame.locator('.ff-click-badge', { hasText: `${guide.position}: 3 clicks · 2 people` });
        await expect(badge.count()).resolves.toBe(1);
        const link = frame.locator(`[data-click-map="${guide.position}"]`);
        const [badgeBox, linkBox] = [(await badge.boundingBox())!, (await link.boundingBox())!];
        expect(badgeBox.width).toBeGreaterThan(40);
        // Beside the link: on its line, or on the next one.
        expect(Math.abs(badgeBox.y - linkBox.y)).toBeLessThan(2 * linkBox.height + 10);
        expect(await link.evaluate((a) => a.hasAttribute('href'))).toBe(false); // leads nowhere
        const iframeBox = (await page.locator('iframe[title^="Human clicks on the email"]').boundingBox())!;
        expect(iframeBox.x + iframeBox.width).toBeLessThanOrEqual(width);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
        const charts = await page.$$eval(
          '#clients-title ~ figure[data-chart], #clients-title ~ * figure[data-chart]',
          (figures) => figures.map((f) => (f as HTMLElement).dataset.chartState),
        );
        expect(charts).toEqual(['drawn', 'drawn']);
        // The links table: every figure in view on a phone, the label on its own lines, not a long address.
        const cells = await page
          .locator('table.link-table tbody tr')
          .first()
          .locator('td')
          .evaluateAll((tds) =>
            tds.map((td) => ({ text: td.textContent?.trim(), right: td.getBoundingClientRect().right })),
          );
        for (const c of cells) expect(c.right, c.text).toBeLessThanOrEqual(width);
        // The device table opened reads across within its box.
        const devices = page.locator('figure[data-chart]').filter({ hasText: 'By device' });
        await devices.locator('summary').click();
        const table = devices.locator('.chart-table table');
        const lines = await table.locator('thead th').evaluateAll((ths) =>
          ths.map((th) => {
            const range = document.createRange();
            range.selectNodeContents(th);
            return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
          }),
        );
        expect(lines).toEqual([1, 1, 1, 1]); // every heading on one line
        expect(refusals).toEqual([]);
        await page.context().close();
      });
    }
  });
}
