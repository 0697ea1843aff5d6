import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { outboxMessages, setupLinkFrom } from '../helpers/accounts.ts';

const ADMIN = { name: 'Ada Owner', email: 'ada@example.com', password: 'widgets are my life now' };
const MARKETER = { name: 'Mara Marketer', email: 'mara@example.com', password: 'newsletters every tuesday' };

async function signIn(page: Page, base: string, who: { email: string; password: string }) {
  await page.goto(`${base}/admin/login`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/admin`);
}

async function signOut(page: Page, base: string) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${base}/admin/login**`);
  await page.getByText('You are signed out.').waitFor();
}

describe('accounts in Chromium', () => {
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

  it('first admin through the printed link, sign in, invite a marketer who signs in and sees no Users page', async () => {
    const base = server.url;
    const admin = await browser.newPage();
    admin.setDefaultTimeout(8000);

    // 1. The link the server printed on its first start.
    await admin.goto(await setupLinkFrom(server));
    await admin.getByLabel('Your name').fill(ADMIN.name);
    await admin.getByLabel('Email').fill(ADMIN.email);
    await admin.getByLabel('Password').fill(ADMIN.password);
    await admin.getByRole('button', { name: 'Create admin account' }).click();
    await admin.waitForURL(`${base}/admin?notice=welcome`);
    expect(await admin.locator('h1').textContent()).toBe('Dashboard');

    // 2. Sign out and in again through the login page.
    await signOut(admin, base);
    await signIn(admin, base, ADMIN);
    expect(await admin.title()).toBe('Dashboard · Footfall admin');

    // 3. Invite a marketer.
    await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Users' }).click();
    await admin.waitForURL(`${base}/admin/users`);
    await admin.getByLabel('Email').fill(MARKETER.email);
    await admin.getByLabel('Name', { exact: true }).fill('Mara');
    await admin.locator('#invite-role').selectOption('marketer');
    await admin.getByRole('button', { name: 'Send invitation' }).click();
    await admin.getByText(`Invitation sent to ${MARKETER.email}.`).waitFor();
    const row = admin.locator('tr', { hasText: MARKETER.email });
    expect(await row.locator('.badge').textContent()).toBe('invited');

    // The invitation went through the mail layer (the outbox, without SMTP).
    const [mail] = await outboxMessages(server.dataDir, 1);
    expect(mail!.to).toBe(MARKETER.email);
    expect(mail!.text).toMatch(/7\s+days/);
    const inviteLink = /https?:\/\/\S+(\/admin\/invite\?token=[a-z2-7]{32})/.exec(mail!.text)!;

    // 4. The marketer, in a browser of their own, on a phone.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const marketer = await phone.newPage();
    await marketer.goto(base + inviteLink[1]!);
    await marketer.getByLabel('Your name').fill(MARKETER.name);
    await marketer.getByLabel('Password').fill(MARKETER.password);
    await marketer.getByRole('button', { name: 'Join' }).click();
    await marketer.waitForURL(`${base}/admin?notice=welcome`);
    await signOut(marketer, base);
    await signIn(marketer, base, MARKETER);

    const nav = marketer.getByRole('navigation', { name: 'Admin' });
    const links = (await nav.getByRole('link').allTextContents()).map((t) => t.trim());
    expect(links).toEqual([
      'Dashboard',
      'Issues',
      'Reports',
      'Subscribers',
      'Outbox',
      'Articles',
      'Offline events',
      'Tally',
    ]);
    expect(links).not.toContain('Users');
    // Usable on a phone: nothing wider than the screen.
    expect(await marketer.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    // Typing the address does not help either.
    const users = await marketer.goto(`${base}/admin/users`);
    expect(users?.status()).toBe(403);
    expect(await marketer.locator('h1').textContent()).toBe('Not available to your role');
    expect(await marketer.getByText(MARKETER.email).count()).toBe(0);

    // The admin sees the marketer active now.
    await admin.reload();
    expect(await admin.locator('tr', { hasText: MARKETER.email }).locator('.badge').first().textContent()).toBe(
      'active',
    );
    await phone.close();
    await admin.close();
  });
});
