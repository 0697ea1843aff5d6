import { afterAll } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { testDialects, type TestDialect } from './databases.ts';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's Chromium, headless, with the flags this sandboxed, offline machine needs. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * The viewports a browser journey on `dialect` runs at: all of them when SQLite is the run's only
 * database, else shared out between the databases — a page's layout does not depend on the
 * database, the journey behind it does: each database runs the journey, each width is seen once.
 */
export function viewportsFor<V>(dialect: TestDialect, viewports: readonly V[]): V[] {
  const dialects = testDialects();
  if (dialects.length === 1) return [...viewports];
  return viewports.filter((_, i) => dialects[i % dialects.length] === dialect);
}

/**
 * One Chromium for the whole test file, launched at the first call and closed after the file's
 * last suite: a file that runs its journeys once per database launched a browser per database
 * (~2 s each). Call at the file's top level; each suite takes the browser from the function.
 */
export function browserForFile(): () => Promise<Browser> {
  let launched: Promise<Browser> | undefined;
  afterAll(async () => {
    await (await launched?.catch(() => undefined))?.close();
  });
  return () => (launched ??= launchBrowser());
}
