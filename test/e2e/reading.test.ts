import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { pageViewsIn } from '../helpers/rows.ts';

describe('a reader in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('opens the home page from a newsletter link, follows an article, and both views are counted', async () => {
    // Headless Chromium announces itself as HeadlessChrome, which is rightly counted as a bot;
    // a reader's browser does not.
    const page = await browser.newPage({
      userAgent:
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
    });
    const home = await page.goto(`${server.url}/?utm_source=newsletter&utm_medium=email&utm_campaign=browser-issue`);
    expect(home?.status()).toBe(200);
    await expect(page.title()).resolves.toMatch(/Frobozz/);

    const link = page.locator('main a[href^="/articles/"]').first();
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^\/articles\/[a-z0-9-]+\/?$/);
    await link.click();
    await page.waitForURL(`**${href}`);
    const heading = await page.locator('main h1').first().textContent();
    expect(heading?.trim().length).toBeGreaterThan(3);
    expect(await page.locator('main article, main .prose, main').first().textContent()).toMatch(/widget/i);
    // article pages ship no client JavaScript
    expect(await page.locator('script').count()).toBe(0);

    const rows = await pageViewsIn(server.databaseUrl);
    const homeView = rows.find((r) => r.path === '/');
    expect(homeView).toMatchObject({ utm_campaign: 'browser-issue', is_bot: 0 });
    const articleView = rows.find((r) => r.path.replace(/\/?$/, '/') === href!.replace(/\/?$/, '/'));
    expect(articleView).toMatchObject({ utm_campaign: null, is_bot: 0 });
    await page.close();
  });
});
