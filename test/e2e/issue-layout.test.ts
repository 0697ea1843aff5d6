import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount, apiKeyFor, request, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { body, catalog, featured } from '../helpers/issues.ts';
import { createIssue } from '../../src/lib/issues/issues.service.ts';

/** A body that tends to break narrow layouts: a long unbroken URL, a wide table, a long code line, a big picture. */
const stressBody = `${body}

A link written out: https://flathead-society.example/guides/winter/keeping-your-clockwork-widget-wound-through-the-coldest-months-of-the-year?ref=frobozz-newsletter

| Widget | Spring | Battery | Winter care | Service interval |
|---|---|---|---|---|
| Clockwork Classic | steel mainspring | none | keep above 5 °C | every 12 months |
| Battery Buddy | none | 2 × AA alkaline | take the batteries out when stored | every 24 months |

\`\`\`
wind --turns=12 --direction=clockwise --check-ratchet --log=/var/log/widget/winding-diary-for-the-whole-winter.txt
\`\`\`

![The front of the Frobozz Electric shop on Flathead Row](/images/store-news.svg)`;

describe('a rendered issue in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let html: string;
  const shots = mkdtempSync(path.join(tmpdir(), 'footfall-issue-shots-'));

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const key = await apiKeyFor(server.databaseUrl, 'marketer');
    const id = await withDatabase(server.databaseUrl, async (db) => {
      const created = await createIssue(
        db,
        {
          subject: 'Winter is coming: is your widget ready?',
          preheader: 'Five tips',
          body_markdown: stressBody,
          featured_articles: featured.map((a) => a.slug),
        },
        { articles: catalog, createdBy: null },
      );
      if (!created.ok) throw new Error(created.message);
      return created.value.id;
    });
    const preview = await request(server, `/api/issues/${id}/preview`, { headers: { authorization: `Bearer ${key}` } });
    html = JSON.parse(preview.text).html;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it.each([375, 600])('at %i px wide nothing overflows the viewport (screenshot kept)', async (width) => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.setContent(html, { waitUntil: 'load' });
    const measured = await page.evaluate(() => {
      const overflowing = [...document.querySelectorAll('body *')]
        .filter((el) => {
          const box = el.getBoundingClientRect();
          const style = getComputedStyle(el);
          return (
            box.width > 0 &&
            box.height > 0 &&
            style.display !== 'none' &&
            style.visibility !== 'hidden' &&
            box.right > window.innerWidth + 0.5
          );
        })
        .slice(0, 5)
        .map(
          (el) =>
            `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ')[0]! : ''} right=${Math.round(el.getBoundingClientRect().right)}`,
        );
      return {
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        overflowing,
        height: document.documentElement.scrollHeight,
      };
    });
    const file = path.join(shots, `issue-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    await page.close();
    expect(measured.innerWidth).toBe(width);
    expect(measured.scrollWidth, `screenshot: ${file}`).toBeLessThanOrEqual(measured.innerWidth);
    expect(measured.overflowing, `screenshot: ${file}`).toEqual([]);
    expect(measured.height).toBeGreaterThan(1500); // the whole issue rendered, not an empty page
  });

  it('the edit page’s preview follows the typing (progressive enhancement)', async () => {
    const userId = await addAccount(server.databaseUrl, 'writer@frobozz.example', 'writer');
    const cookie = (await sessionCookie(server.databaseUrl, userId)).split('=');
    const context = await browser.newContext();
    await context.addCookies([{ name: cookie[0]!, value: cookie.slice(1).join('='), url: server.url }]);
    const page = await context.newPage();
    await page.goto(`${server.url}/admin/issues/new`);
    await page.fill('#field-subject', 'Typed in the browser');
    await page.fill('#field-body_markdown', 'Hello from **Chromium**, written just now.');
    const frame = page.locator('iframe[data-live-preview]');
    await expect
      .poll(async () => (await frame.getAttribute('srcdoc')) ?? '', { timeout: 10_000 })
      .toContain('Hello from <strong');
    expect(await page.locator('[data-live-status]').textContent()).toContain('not saved');
    await context.close();
  });
});
