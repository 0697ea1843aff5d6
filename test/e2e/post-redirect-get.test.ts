import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount, sessionCookie, withDatabase } from '../helpers/accounts.ts';

/** Issue 17, item 17, in a browser: after saving, the address bar has no `?_action=` and a reload posts nothing again. */
describe('an admin form in Chromium: saved, redirected, reloaded', () => {
  let server: RunningServer;
  let browser: Browser;
  let admin: string;
  beforeAll(async () => {
    server = await startServer();
    admin = await sessionCookie(server.databaseUrl, await addAccount(server.databaseUrl, 'root@example.com', 'admin'));
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const keys = () => withDatabase(server.databaseUrl, (db) => db.selectFrom('api_keys').select('id').execute());

  for (const viewport of [
    { width: 1280, height: 900 },
    { width: 375, height: 800 },
  ]) {
    it(`creating an API key at ${viewport.width} px: the key is shown once on a clean URL; a reload adds no key`, async () => {
      const context = await browser.newContext({ viewport });
      await context.addCookies([{ name: admin.split('=')[0]!, value: admin.split('=')[1]!, url: server.url }]);
      const page = await context.newPage();
      await page.goto(`${server.url}/admin/api-keys`);
      const before = (await keys()).length;
      await page.fill('input[name="name"]', `Key at ${viewport.width}`);
      await Promise.all([
        page.waitForURL(`${server.url}/admin/api-keys`),
        page.click('form:has(input[name="name"]) button[type="submit"]'),
      ]);
      expect(page.url()).toBe(`${server.url}/admin/api-keys`);
      await expect(page.locator('code.secret').textContent()).resolves.toMatch(/^ffk_[a-z2-7]{32}$/);
      expect((await keys()).length).toBe(before + 1);
      await page.reload();
      expect(page.url()).not.toContain('_action');
      expect(await page.locator('code.secret').count()).toBe(0);
      expect((await keys()).length).toBe(before + 1);
      await context.close();
    });
  }
});
