import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount, withDatabase } from '../helpers/accounts.ts';
import { builtArticlePaths } from '../helpers/site.ts';
import { subscriberIn } from '../helpers/subscribers.ts';

const MARKETER = { email: 'mara@example.com', password: 'newsletters every tuesday' };

describe('a subscriber and a marketer in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer();
    await addAccount(server.databaseUrl, MARKETER.email, 'marketer', MARKETER.password);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Opens an outbox message by its subject and clicks a link inside its sandboxed HTML; answers the tab the link opened. */
  async function followLinkInMail(admin: Page, subject: string, link: string): Promise<Page> {
    await admin.goto(`${server.url}/admin/outbox`);
    await admin.getByRole('link', { name: subject }).first().click();
    await admin.waitForURL(/\/admin\/outbox\/[^/]+\.eml$/);
    expect(await admin.locator('h1').textContent()).toBe(subject);
    const mail = admin.frameLocator('iframe.mail-frame');
    await admin.bringToFront(); // a tab in the background opens no popups
    const [tab] = await Promise.all([
      admin.context().waitForEvent('page'),
      mail.getByRole('link', { name: link, exact: true }).first().click(),
    ]);
    await tab.waitForLoadState();
    return tab;
  }

  it('signs up on an article, confirms with the button behind the mailed link, unsubscribes, comes back only by a new confirmation, and renews an expired preferences link', async () => {
    // The reader, on an article page.
    const reader = await browser.newPage();
    reader.setDefaultTimeout(8000);
    await reader.goto(`${server.url}${builtArticlePaths()[0]}`);
    const form = reader.locator('form.subscribe-form');
    await form.getByLabel('Email address').fill('reader@example.com');
    await form.getByLabel('First name').fill('Rea');
    await form.getByRole('button', { name: 'Subscribe' }).click();
    await reader.getByText('Check your inbox').first().waitFor();
    expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('pending');

    // The marketer reads the confirmation in the outbox and follows its link, as the reader would.
    const context = await browser.newContext();
    const admin = await context.newPage();
    admin.setDefaultTimeout(8000);
    await admin.goto(`${server.url}/admin/login`);
    await admin.getByLabel('Email').fill(MARKETER.email);
    await admin.getByLabel('Password').fill(MARKETER.password);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await admin.waitForURL(`${server.url}/admin`);
    await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Outbox' }).click();
    await admin.waitForURL(`${server.url}/admin/outbox`);

    const confirmed = await followLinkInMail(
      admin,
      'Confirm your subscription to Frobozz Electric',
      'Confirm your subscription',
    );
    expect(confirmed.url()).toContain('/subscribe/confirm?token=');
    const firstConfirmation = confirmed.url();
    // Opening the link changes nothing (mail scanners open every link): the page asks for a press.
    expect(await confirmed.locator('h1').textContent()).toBe('Confirm your subscription');
    expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('pending');
    await confirmed.getByRole('button', { name: 'Confirm my subscription' }).click();
    await confirmed.getByRole('heading', { name: "You're subscribed" }).waitFor();
    expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('active');
    await confirmed.close();

    // The welcome email arrived; its footer link leads to the unsubscribe page, whose button unsubscribes.
    const unsubscribe = await followLinkInMail(admin, 'Welcome to the Frobozz Electric newsletter', 'Unsubscribe');
    expect(unsubscribe.url()).toMatch(/\/unsubscribe\/[\w.-]+$/);
    expect(await unsubscribe.locator('h1').textContent()).toBe('Unsubscribe from the newsletter?');
    expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('active'); // a GET never unsubscribes
    await unsubscribe.getByRole('button', { name: 'Unsubscribe' }).click();
    await unsubscribe.getByRole('heading', { name: "You're unsubscribed" }).waitFor();
    expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('unsubscribed');

    // The first confirmation link, still within its seven days, does not bring them back.
    const old = await browser.newPage();
    await old.goto(firstConfirmation);
    expect(await old.locator('h1').textContent()).toBe('This link is from before you unsubscribed');
    expect(await old.getByRole('button', { name: 'Confirm my subscription' }).count()).toBe(0);
    await old.close();
    expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('unsubscribed');

    // "Subscribe again" sends a fresh confirmation and changes nothing until it is pressed.
    await withDatabase(server.databaseUrl, (db) =>
      db
        .updateTable('subscribers')
        .set({ confirmation_sent_at: Date.now() - 3_600_000 })
        .where('email', '=', 'reader@example.com')
        .execute(),
    );
    await unsubscribe.getByRole('button', { name: 'Subscribe again' }).click();
    await unsubscribe.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('unsubscribed');
    const again = await followLinkInMail(
      admin,
      'Confirm your subscription to Frobozz Electric',
      'Confirm your subscription',
    );
    expect(again.url()).not.toBe(firstConfirmation);
    await again.getByRole('button', { name: 'Confirm my subscription' }).click();
    await again.getByRole('heading', { name: "You're subscribed" }).waitFor();
    expect((await subscriberIn(server.databaseUrl, 'reader@example.com'))?.status).toBe('active');
    await again.close();

    // On a phone: the old-style preferences link (the never-expiring unsubscribe token) shows no address
    // and offers a new link by mail; the mailed link opens the preferences.
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const legacy = await phone.newPage();
    legacy.setDefaultTimeout(8000);
    const token = unsubscribe.url().split('/unsubscribe/')[1]!;
    await legacy.goto(`${server.url}/preferences/${token}`);
    expect(await legacy.locator('h1').textContent()).toBe('This link has expired');
    expect(await legacy.locator('body').textContent()).not.toContain('reader@example.com');
    await legacy.getByRole('button', { name: 'Email me a new link' }).click();
    await legacy.getByText('a new link is on its way').waitFor();
    expect(await legacy.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await phone.close();
    const preferences = await followLinkInMail(
      admin,
      'Your link to the Frobozz Electric newsletter preferences',
      'Open your preferences',
    );
    expect(await preferences.locator('h1').textContent()).toBe('Your preferences');
    expect(await preferences.locator('.page-head').textContent()).toContain('reader@example.com');
    await preferences.close();
    await unsubscribe.close();

    // The marketer sees it on the subscriber's page.
    await admin.goto(`${server.url}/admin/subscribers?q=reader`);
    await admin.getByRole('link', { name: 'reader@example.com' }).click();
    await admin.getByText('Welcome email sent').first().waitFor();
    expect(await admin.locator('.timeline strong').allTextContents()).toEqual([
      'Asked for a new preferences link; it was emailed',
      'Welcome email sent',
      'Subscribed again (confirmed by email)',
      'Asked to subscribe again; a confirmation email was sent',
      'Unsubscribed',
      'Welcome email sent',
      'Confirmed the subscription (double opt-in)',
      'Signed up',
    ]);
    await context.close();
    await reader.close();
  }, 60_000);
});
