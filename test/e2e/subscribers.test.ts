import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount } from '../helpers/accounts.ts';
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
    const [tab] = await Promise.all([admin.context().waitForEvent('page'), mail.getByRole('link', { name: link, exact: true }).first().click()]);
    await tab.waitForLoadState();
    return tab;
  }

  it('signs up on an article, confirms from the outbox, and unsubscribes from the welcome email’s footer', async () => {
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

    const confirmed = await followLinkInMail(admin, 'Confirm your subscription to Frobozz Electric', 'Confirm your subscription');
    expect(confirmed.url()).toContain('/subscribe/confirm?token=');
    expect(await confirmed.locator('h1').textContent()).toBe("You're subscribed");
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

    // The marketer sees it on the subscriber's page.
    await admin.goto(`${server.url}/admin/subscribers?q=reader`);
    await admin.getByRole('link', { name: 'reader@example.com' }).click();
    await admin.getByText('Welcome email sent').waitFor();
    expect(await admin.locator('.timeline strong').allTextContents()).toEqual(['Unsubscribed', 'Welcome email sent', 'Confirmed the subscription (double opt-in)', 'Signed up']);
    await context.close();
    await reader.close();
  });
});
