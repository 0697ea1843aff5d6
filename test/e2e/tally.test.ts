import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { addAccount, withDatabase } from '../helpers/accounts.ts';

const WRITER = { email: 'wren@example.com', password: 'a long passphrase for tests' };

async function tallyRows(databaseUrl: string) {
  return withDatabase(databaseUrl, (db) =>
    db
      .selectFrom('offline_events')
      .select(['kind', 'at', 'recorded_at', 'client_id', 'recorded_by'])
      .where('source', '=', 'tally')
      .orderBy('at')
      .execute(),
  );
}

describe('the tally page in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let writerId: number;

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    writerId = await addAccount(server.databaseUrl, WRITER.email, 'writer', WRITER.password);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a writer taps while offline; back online, each tap is stored once with the time it was tapped', async () => {
    const base = server.url;
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    page.setDefaultTimeout(8000);

    await page.goto(`${base}/admin/login?next=%2Fadmin%2Ftally`);
    await page.getByLabel('Email').fill(WRITER.email);
    await page.getByLabel('Password').fill(WRITER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/admin/tally`);
    expect(await page.locator('h1').textContent()).toBe('Tally');
    // Big enough to hit with a thumb, and nothing wider than the phone.
    const button = await page.getByRole('button', { name: 'Phone call' }).boundingBox();
    expect(button!.height).toBeGreaterThanOrEqual(100);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await phone.setOffline(true);
    await page.getByRole('button', { name: 'Phone call' }).click();
    await page.waitForTimeout(700);
    await page.getByRole('button', { name: 'Phone call' }).click();
    await page.waitForTimeout(700);
    await page.getByLabel('They mentioned the newsletter').check();
    await page.getByRole('button', { name: 'Walk-in' }).click();

    const waiting = page.locator('[data-waiting]');
    await expect.poll(() => waiting.textContent()).toContain('3 taps waiting to send');
    expect(await waiting.isVisible()).toBe(true);
    expect(await page.locator('[data-count="call"]').textContent()).toBe('2');
    expect(await page.locator('[data-count="walk_in"]').textContent()).toBe('1');
    const queued =
      (await page.evaluate(
        () => Object.entries(localStorage).find(([key]) => key.startsWith('footfall.tally.queue.'))?.[1],
      )) ?? '[]';
    const taps = JSON.parse(queued) as { clientId: string; kind: string; at: number; mentioned?: boolean }[];
    expect(taps.map((t) => t.kind)).toEqual(['call', 'call', 'walk_in']);
    expect(taps[2]!.mentioned).toBe(true);

    // A while without a connection: nothing arrives.
    await page.waitForTimeout(2500);
    expect(await tallyRows(server.databaseUrl)).toEqual([]);

    const backOnline = Date.now();
    await phone.setOffline(false);
    await expect.poll(async () => (await tallyRows(server.databaseUrl)).length, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => waiting.isVisible()).toBe(false);

    // Stored once each, with the time of the tap — not the time it was sent.
    await page.waitForTimeout(1000);
    const rows = await tallyRows(server.databaseUrl);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.client_id)).toEqual(taps.map((t) => t.clientId));
    rows.forEach((row, i) => {
      expect(row.kind).toBe(taps[i]!.kind);
      expect(row.recorded_by).toBe(writerId);
      expect(Math.abs(Number(row.at) - taps[i]!.at)).toBeLessThan(500);
      expect(Number(row.recorded_at)).toBeGreaterThanOrEqual(backOnline - 100);
      expect(Number(row.recorded_at) - Number(row.at)).toBeGreaterThan(2000);
    });
    expect(
      await page.evaluate(
        () => Object.entries(localStorage).find(([key]) => key.startsWith('footfall.tally.queue.'))?.[1],
      ),
    ).toBe('[]');

    // A reload shows the server's counts for today.
    await page.reload();
    expect(await page.locator('[data-count="call"]').textContent()).toBe('2');
    expect(await page.locator('[data-count="walk_in"]').textContent()).toBe('1');
    await phone.close();
  });
});
