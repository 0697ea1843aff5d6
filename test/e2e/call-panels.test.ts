import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { serverSecretOf, startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount, sessionCookie, withDatabase } from '../helpers/accounts.ts';
import { markIssueSent } from '../helpers/sending.ts';
import { createIssue, freezeIssue } from '../../src/lib/issues/issues.service.ts';
import { addConfirmedSubscriber } from '../../src/lib/subscribers/subscribers.service.ts';

/**
 * On a phone (375 px wide): the subscriber page's phone panel — "a phone number is on file",
 * replace, remove — and the issue report's panel of call outcomes fit the screen, with nothing
 * to scroll sideways, before and after the panel's forms are used.
 */
const CALLRAIL_KEY = 'callrail-signing-key-e2e-0123456';
const WIDTH = 375;

describe('the phone panels at 375 px in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let phone: BrowserContext;
  let subscriberId: number;
  let issueId: number;

  beforeAll(async () => {
    server = await startServer({ env: { CALLRAIL_SIGNING_KEY: CALLRAIL_KEY, SEND_WORKER: '0' } });
    const marketer = await addAccount(server.databaseUrl, 'phones@example.com', 'marketer');
    const cookie = await sessionCookie(server.databaseUrl, marketer);
    const wentOut = Date.now() - 3 * 3_600_000;
    ({ subscriberId, issueId } = await withDatabase(server.databaseUrl, async (db) => {
      const added = await addConfirmedSubscriber(
        db,
        { email: 'caller-on-a-phone@example.com', consentNote: 'by hand', form: 'admin' },
        'test',
      );
      if (!added.ok) throw new Error(added.error);
      const issue = await createIssue(
        db,
        { subject: 'Ring us about widgets', body_markdown: 'Call us.', tracked_phone: '+44 1632 960777' },
        { articles: new Map(), createdBy: null },
        wentOut - 60_000,
      );
      if (!issue.ok) throw new Error('issue not created');
      await freezeIssue(db, issue.value.id, wentOut, { secret: serverSecretOf(server) });
      await markIssueSent(db, issue.value.id, wentOut);
      return { subscriberId: added.value.id!, issueId: issue.value.id };
    }));
    // Calls to the tracked number: answered and missed, a caller twice, one without a number.
    const calls = [
      { id: 'E2E1', answered: true, customer_phone_number: '+441632960301' },
      { id: 'E2E2', answered: false, customer_phone_number: '+441632960301' },
      { id: 'E2E3', answered: true, customer_phone_number: '+441632960302' },
      { id: 'E2E4', answered: true },
    ];
    for (const call of calls) {
      const body = JSON.stringify({
        ...call,
        direction: 'inbound',
        duration: '20',
        start_time: new Date(Date.now() - 30 * 60_000).toISOString().replace('Z', '+00:00'),
        tracking_phone_number: '+441632960777',
      });
      const res = await fetch(`${server.url}/api/webhooks/callrail`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          signature: createHmac('sha1', CALLRAIL_KEY).update(body).digest('base64'),
        },
        body,
      });
      expect(res.status, await res.text()).toBe(201);
    }
    browser = await launchBrowser();
    phone = await browser.newContext({ viewport: { width: WIDTH, height: 740 }, isMobile: true, hasTouch: true });
    const [name, value] = cookie.split('=') as [string, string];
    await phone.addCookies([{ name, value, url: server.url }]);
  }, 120_000);
  afterAll(async () => {
    await phone?.close();
    await browser?.close();
    await server?.stop();
  });

  /** Nothing wider than the screen: the page does not scroll sideways, and the panel's right edge is on screen. */
  async function fits(page: Page, panel: string): Promise<void> {
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(WIDTH);
    const box = await page.locator(panel).boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(WIDTH);
  }

  it('the subscriber’s phone panel: a number saved, then on file, replaced and removed, all without sideways scrolling', async () => {
    const page = await phone.newPage();
    await page.goto(`${server.url}/admin/subscribers/${subscriberId}`);
    const panel = 'section[aria-labelledby="phone"]';
    await expect.poll(() => page.locator('[data-phone-status]').textContent()).toContain('No phone number on file.');
    await fits(page, panel);

    await page.locator('#subscriber-phone').fill('+44 1632 960301');
    await page.getByRole('button', { name: 'Save number' }).click();
    await page.waitForLoadState();
    await expect.poll(() => page.locator(panel).textContent()).toContain('Phone number saved.');
    expect(await page.locator('[data-phone-status]').textContent()).toContain('A phone number is on file.');
    await fits(page, panel);

    await page.getByLabel('Replace with', { exact: true }).fill('+44 1632 960302');
    await page.getByRole('button', { name: 'Save number' }).click();
    await page.waitForLoadState();
    await expect.poll(() => page.locator(panel).textContent()).toContain('Phone number saved.');
    await fits(page, panel);

    await page.getByRole('button', { name: 'Remove the number' }).click();
    await page.waitForLoadState();
    await expect.poll(() => page.locator(panel).textContent()).toContain('Phone number removed.');
    expect(await page.locator('[data-phone-status]').textContent()).toContain('No phone number on file.');
    await fits(page, panel);
    await page.close();
  });

  it('the issue report’s call outcomes: answered, missed, first-time, repeat and not known, without sideways scrolling', async () => {
    const page = await phone.newPage();
    await page.goto(`${server.url}/admin/issues/${issueId}/report`);
    const panel = '[data-call-outcomes]';
    const text = await page.locator(panel).textContent();
    for (const label of ['Answered', 'Missed', 'First-time caller', 'Repeat caller', 'Number not known'])
      expect(text).toContain(label);
    await page.locator(panel).scrollIntoViewIfNeeded();
    await fits(page, panel);
    await page.close();
  });
});
