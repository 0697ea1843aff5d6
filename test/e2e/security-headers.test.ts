import http from 'node:http';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort, startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount, apiKeyFor, withDatabase } from '../helpers/accounts.ts';
import { createTestDatabaseUrl } from '../helpers/databases.ts';
import { seedReportDatabase, type ReportSeed } from '../helpers/reports.ts';
import { clickUrl, openUrl, TEST_SECRET } from '../helpers/tracking.ts';
import { builtArticlePaths } from '../helpers/site.ts';
import { ADMIN_PAGES } from '../../src/web/admin-routes.ts';
import { preferencesUrl, unsubscribeUrl } from '../../src/lib/subscribers/links.ts';

const ADMIN = { email: 'ada@example.com', password: 'a long passphrase for tests' };

/** Content-Security-Policy violations a page reports, and console errors that name the policy. */
async function watchPolicy(context: BrowserContext): Promise<(page: Page) => Promise<string[]>> {
  await context.addInitScript(() => {
    const seen: string[] = ((window as unknown as { __violations: string[] }).__violations = []);
    document.addEventListener('securitypolicyviolation', (event) =>
      seen.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`),
    );
  });
  const consoleErrors = new WeakMap<Page, string[]>();
  context.on('page', (page) => {
    const errors: string[] = [];
    consoleErrors.set(page, errors);
    page.on(
      'console',
      (message) =>
        message.type() === 'error' &&
        /Content Security Policy|Refused to/i.test(message.text()) &&
        errors.push(message.text()),
    );
    page.on('pageerror', (error) => errors.push(String(error)));
  });
  return async (page) => [
    ...(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)),
    ...(consoleErrors.get(page) ?? []),
  ];
}

/** Every chart on the page drawn (an SVG in its box), as the reports test checks them. */
async function chartStates(page: Page): Promise<string[]> {
  await page.waitForFunction(
    () => [...document.querySelectorAll<HTMLElement>('figure[data-chart]')].every((f) => f.dataset.chartState),
    undefined,
    { timeout: 10_000 },
  );
  return page.$$eval('figure[data-chart]', (figures) =>
    figures.map((f) => `${(f as HTMLElement).dataset.chartState}:${!!f.querySelector('[data-chart-canvas] svg')}`),
  );
}

describe('browser security headers in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let drop: () => Promise<void>;
  let seed: ReportSeed;
  let subscriberId: number;
  let framer: http.Server;
  let framerUrl: string;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'footfall-e2e-headers-'));
    const created = await createTestDatabaseUrl('sqlite', dir, { migrated: true });
    drop = created.drop;
    const port = await freePort();
    seed = await seedReportDatabase(created.url, `http://127.0.0.1:${port}`);
    server = await startServer({
      dataDir: dir,
      databaseUrl: created.url,
      env: { PORT: String(port), SEND_WORKER: '0', SECRET: TEST_SECRET },
    });
    await addAccount(server.databaseUrl, ADMIN.email, 'admin', ADMIN.password);
    subscriberId = await withDatabase(server.databaseUrl, async (db) =>
      Number(
        (await db.selectFrom('subscribers').select('id').where('status', '=', 'active').executeTakeFirstOrThrow()).id,
      ),
    );
    browser = await launchBrowser();
    // Another site, which tries to frame ours.
    framer = http.createServer((req, res) => {
      const target = new URL(req.url!, 'http://x').searchParams.get('frame');
      if (!target) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>Framer</title><h1>Win a widget</h1><iframe id="victim" src="${target.replace(/"/g, '&quot;')}" width="800" height="600"></iframe>`,
      );
    });
    await new Promise<void>((resolve) => framer.listen(0, '127.0.0.1', resolve));
    framerUrl = `http://127.0.0.1:${(framer.address() as { port: number }).port}/`;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => framer?.close(resolve));
    await drop?.();
  });

  it('every admin page, signed in as admin, loads with no policy violation: charts draw, email previews and the outbox message show', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const violationsOf = await watchPolicy(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${server.url}/admin/login`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/admin`);

    // A message in the outbox: invite someone (mail goes to DATA_DIR/outbox without SMTP).
    await page.goto(`${server.url}/admin/users`);
    await page.locator('form[action*="users.invite"] input[name="email"]').fill('newcomer@example.com');
    await page.locator('form[action*="users.invite"] input[name="name"]').fill('Newcomer');
    await page.locator('form[action*="users.invite"] button[type="submit"]').click();
    await page.waitForLoadState('load');
    const outboxFile = readdirSync(path.join(server.dataDir, 'outbox')).find((f) => f.endsWith('.eml'))!;
    expect(outboxFile).toBeTruthy();

    const samples: Record<string, string> = {
      '/admin/issues/[id]': `/admin/issues/${seed.draftId}`,
      '/admin/issues/[id]/preview': `/admin/issues/${seed.a.issueId}/preview`,
      '/admin/issues/[id]/send': `/admin/issues/${seed.draftId}/send`,
      '/admin/issues/[id]/progress': `/admin/issues/${seed.a.issueId}/progress`,
      '/admin/issues/[id]/report': `/admin/issues/${seed.a.issueId}/report`,
      '/admin/subscribers/[id]': `/admin/subscribers/${subscriberId}`,
      '/admin/outbox/[file]': `/admin/outbox/${outboxFile}`,
    };
    let charts = 0;
    for (const entry of ADMIN_PAGES) {
      const pagePath = samples[entry.route] ?? entry.sample ?? entry.route;
      const answer = await page.goto(server.url + pagePath);
      await page.waitForLoadState('load');
      expect(answer!.headers()['content-security-policy'], pagePath).toMatch(/frame-ancestors 'none'/);
      const states = await chartStates(page);
      charts += states.length;
      for (const state of states) expect(state, pagePath).toBe('drawn:true');
      if (entry.route === '/admin/outbox/[file]') {
        // The message's own frame (same origin, its own policy) shows the email.
        const frame = page.frameLocator('iframe.mail-frame');
        await expect.poll(async () => (await frame.locator('body').textContent()) ?? '').toMatch(/invited/i);
      }
      if (entry.route === '/admin/issues/[id]') {
        // The live preview redraws the email in its srcdoc frame as the writer types.
        const frame = page.locator('iframe[data-live-preview]').first();
        const before = await frame.getAttribute('srcdoc');
        await page.locator('textarea[name="body_markdown"]').fill('A **fresh** paragraph about spring widgets.');
        await expect.poll(() => frame.getAttribute('srcdoc'), { timeout: 10_000 }).not.toBe(before);
        expect(await frame.contentFrame().locator('body').textContent()).toContain('spring widgets');
      }
      expect(await violationsOf(page), pagePath).toEqual([]);
    }
    expect(charts).toBeGreaterThan(5);

    // The tally page's script queues and sends a tap.
    await page.goto(`${server.url}/admin/tally`);
    const calls = Number(await page.locator('[data-count="call"]').textContent());
    await page.getByRole('button', { name: 'Phone call' }).click();
    await expect.poll(() => page.locator('[data-count="call"]').textContent()).toBe(String(calls + 1));
    await expect
      .poll(
        async () =>
          (await page.evaluate(
            () => Object.entries(localStorage).find(([key]) => key.startsWith('footfall.tally.queue.'))?.[1],
          )) ?? '[]',
      )
      .toBe('[]');
    expect(await violationsOf(page)).toEqual([]);
    await context.close();
  });

  it('the public pages load with no policy violation', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 }, isMobile: true });
    const violationsOf = await watchPolicy(context);
    const page = await context.newPage();
    const deps = { secret: TEST_SECRET, siteUrl: server.url };
    for (const url of [
      `${server.url}/`,
      server.url + builtArticlePaths()[0]!,
      `${server.url}/articles/`,
      `${server.url}/subscribe`,
      `${server.url}/newsletter/${seed.a.slug}/`,
      preferencesUrl(deps, subscriberId, Date.now()),
      unsubscribeUrl(deps, subscriberId),
      `${server.url}/no-such-page`,
    ]) {
      const answer = await page.goto(url);
      await page.waitForLoadState('load');
      expect(answer!.headers()['content-security-policy'], url).toMatch(/frame-ancestors 'none'/);
      expect(await violationsOf(page), url).toEqual([]);
    }
    await context.close();
  });

  it('another site cannot frame the preferences page, the sign-in page or an article', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const refusals: string[] = [];
    page.on(
      'console',
      (message) => /frame-ancestors|Refused to frame/i.test(message.text()) && refusals.push(message.text()),
    );
    const victims = [
      preferencesUrl({ secret: TEST_SECRET, siteUrl: server.url }, subscriberId, Date.now()),
      `${server.url}/admin/login`,
      server.url + builtArticlePaths()[0]!,
    ];
    for (const victim of victims) {
      await page.goto(`${framerUrl}?frame=${encodeURIComponent(victim)}`);
      await page.waitForLoadState('load');
      await page.waitForTimeout(300);
      expect(await page.locator('h1').textContent()).toBe('Win a widget');
      // The frame holds Chromium's error page, not ours: none of our markup, no erase button.
      const frame = page.frames().find((f) => f !== page.mainFrame())!;
      const framed = await frame.evaluate(() => document.documentElement.outerHTML).catch(() => '');
      expect(framed, victim).not.toMatch(/Frobozz|preferences|Sign in|erase/i);
    }
    expect(refusals.length).toBeGreaterThanOrEqual(victims.length);
    await context.close();
  });

  it('over HTTP: the policy and its companions on static pages, Astro pages, the API and /t/ answers', async () => {
    const headersOf = async (pathname: string, init: RequestInit = {}) =>
      (await fetch(server.url + pathname, { redirect: 'manual', ...init })).headers;
    const common = (headers: Headers, what: string) => {
      expect(headers.get('x-content-type-options'), what).toBe('nosniff');
      expect(headers.get('referrer-policy'), what).toBe('strict-origin-when-cross-origin');
      expect(headers.get('x-frame-options'), what).toBe('DENY');
      expect(headers.get('strict-transport-security'), what).toBeNull(); // SITE_URL is http here
    };
    const article = await headersOf(builtArticlePaths()[0]!);
    common(article, 'static page');
    expect(article.get('content-security-policy')).toMatch(/script-src 'self'( 'sha256-[^']+')+;.*/);
    expect(article.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    const login = await headersOf('/admin/login');
    common(login, 'Astro page');
    expect(login.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    const asset = await headersOf('/favicon.svg');
    expect(asset.get('x-content-type-options')).toBe('nosniff');
    const key = await apiKeyFor(server.databaseUrl, 'admin');
    const api = await headersOf('/api/me', { headers: { authorization: `Bearer ${key}` } });
    common(api, 'API JSON');
    expect(api.get('content-type')).toMatch(/^application\/json/);
    expect(api.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    // /t/: nosniff, no policy needed (a GIF, a redirect, a small 404 page).
    const delivery = await withDatabase(server.databaseUrl, async (db) =>
      db
        .selectFrom('deliveries')
        .select(['id', 'issue_id'])
        .where('issue_id', '=', seed.a.issueId)
        .executeTakeFirstOrThrow(),
    );
    const link = await withDatabase(server.databaseUrl, async (db) =>
      db
        .selectFrom('issue_links')
        .select('id')
        .where('issue_id', '=', seed.a.issueId)
        .where('kind', '=', 'site')
        .executeTakeFirstOrThrow(),
    );
    for (const url of [
      openUrl(server.url, Number(delivery.id), true),
      clickUrl(server.url, Number(delivery.id), Number(link.id)),
      `${server.url}/t/c/not-a-token`,
    ]) {
      const headers = (await fetch(url, { redirect: 'manual', method: 'HEAD' })).headers;
      expect(headers.get('x-content-type-options'), url).toBe('nosniff');
    }
  });

  it('an https site also sends Strict-Transport-Security', async () => {
    const secure = await startServer({ env: { SITE_URL: 'https://news.frobozz.example', SEND_WORKER: '0' } });
    try {
      const headers = (await fetch(`${secure.url}/admin/login`)).headers;
      expect(headers.get('strict-transport-security')).toBe('max-age=31536000');
      expect((await fetch(secure.url + builtArticlePaths()[0]!)).headers.get('strict-transport-security')).toBe(
        'max-age=31536000',
      );
    } finally {
      await secure.stop();
    }
  });
});
