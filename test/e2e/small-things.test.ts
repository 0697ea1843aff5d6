import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { projectRoot, startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount, apiKeyFor, request, sessionCookie } from '../helpers/accounts.ts';

const published = readdirSync(path.join(projectRoot, 'content/articles'))
  .filter(
    (f) =>
      f.endsWith('.md') &&
      !/^draft:\s*true\s*$/m.test(readFileSync(path.join(projectRoot, 'content/articles', f), 'utf8')),
  )
  .map((f) => f.replace(/\.md$/, ''));

/** Issue 17, item 17: the small ones a first day trips over. */
describe('the small things of a first day', () => {
  let server: RunningServer;
  let browser: Browser;
  let admin: string;

  beforeAll(async () => {
    server = await startServer();
    admin = await sessionCookie(
      server.databaseUrl,
      await addAccount(server.databaseUrl, 'owner@frobozz.example', 'admin'),
    );
    await addAccount(server.databaseUrl, 'marketer.with.a.long.address@frobozz.example', 'marketer');
    await addAccount(server.databaseUrl, 'wren@frobozz.example', 'writer');
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('/favicon.ico is served (an icon of three sizes), and every page links it', async () => {
    const res = await fetch(`${server.url}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/(x-icon|vnd\.microsoft\.icon)/);
    const body = Buffer.from(await res.arrayBuffer());
    expect([...body.subarray(0, 4)]).toEqual([0, 0, 1, 0]);
    expect(body.readUInt16LE(4)).toBe(3);
    expect(await (await fetch(`${server.url}/`)).text()).toContain(
      '<link rel="icon" href="/favicon.ico" sizes="32x32">',
    );
    expect((await request(server, '/admin/login')).text).toContain(
      '<link rel="icon" href="/favicon.ico" sizes="32x32">',
    );
  });

  it('the shipped articles have raster hero images, so an issue featuring all of them carries no "image formats" warning', async () => {
    const key = await apiKeyFor(server.databaseUrl, 'marketer');
    const created = await request(server, '/api/issues', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        subject: 'Everything we wrote',
        preheader: 'Every guide in one place',
        body_markdown: 'All our guides.',
        featured_articles: published,
      }),
    });
    expect(created.status, created.text).toBe(201);
    const issue = JSON.parse(
      (
        await request(server, `/api/issues/${JSON.parse(created.text).id}`, {
          headers: { authorization: `Bearer ${key}` },
        })
      ).text,
    );
    expect(issue.checks.find((c: { id: string }) => c.id === 'image-format')).toMatchObject({
      status: 'ok',
      message: 'No SVG images.',
    });
    for (const article of published) {
      const hero = /^heroImage:\s*(\S+)/m.exec(
        readFileSync(path.join(projectRoot, 'content/articles', `${article}.md`), 'utf8'),
      )?.[1];
      if (!hero) continue;
      expect(hero, article).toMatch(/\.png$/);
      const image = await fetch(server.url + hero);
      expect(image.headers.get('content-type'), hero).toBe('image/png');
      expect((await image.arrayBuffer()).byteLength, hero).toBeLessThan(40 * 1024);
    }
  });

  for (const viewport of [
    { width: 375, height: 800 },
    { width: 1280, height: 900 },
  ]) {
    it(`at ${viewport.width} px: role choices show whole role names, and the tracked-phone field looks like its neighbours`, async () => {
      const context = await browser.newContext({ viewport });
      await context.addCookies([{ name: admin.split('=')[0]!, value: admin.split('=')[1]!, url: server.url }]);
      const page = await context.newPage();
      try {
        await page.goto(`${server.url}/admin/users`);
        // Each compact select in the table is at least as wide as its widest option needs.
        const fits = await page.locator('select.role-select--compact').evaluateAll((selects) =>
          selects.map((select) => {
            const el = select as HTMLSelectElement;
            const has = el.getBoundingClientRect().width;
            const before = el.style.width;
            el.style.width = 'max-content';
            const needs = el.getBoundingClientRect().width;
            el.style.width = before;
            return has + 0.5 >= needs;
          }),
        );
        expect(fits).toEqual([true, true]);
        // The invite form's choice says only the role; what each may do is written beside it.
        expect(await page.locator('#invite-role option').allTextContents()).toEqual(['Admin', 'Marketer', 'Writer']);
        expect(await page.locator('#invite-role-hint li').first().textContent()).toMatch(/^Admin — everything/);
        const invite = await page.locator('#invite-role').boundingBox();
        expect(invite!.x + invite!.width).toBeLessThanOrEqual(viewport.width);

        await page.goto(`${server.url}/admin/issues/new`);
        const looks = (name: string) =>
          page.locator(`[name="${name}"]`).evaluate((el) => {
            const c = getComputedStyle(el);
            return {
              border: `${c.borderTopWidth} ${c.borderTopStyle} ${c.borderTopColor}`,
              padding: c.paddingTop,
              radius: c.borderTopLeftRadius,
              font: c.fontSize,
              height: Math.round(el.getBoundingClientRect().height),
            };
          });
        expect(await looks('tracked_phone')).toEqual(await looks('subject'));
      } finally {
        await context.close();
      }
    });
  }
});
