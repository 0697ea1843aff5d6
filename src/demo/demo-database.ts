import { existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../lib/config.ts';
import { createAppContext } from '../lib/app/context.ts';
import { upgradeDatabase } from '../lib/app/upgrade-database.ts';
import { renewDemoPasswords, type DemoLogin } from './accounts.ts';
import { generateDemo, type DemoSummary } from './generate.ts';
import { applyDemoShopSettings } from './shop.ts';
import { getSettings } from '../lib/settings/settings.service.ts';
import type { DemoScale } from './scale.ts';

/**
 * Where the demo lives, beside (never in) the real data: its own SQLite file and its own data
 * folder (secret, outbox, uploads) under DATA_DIR.
 */
export interface DemoPlace {
  database: string;
  dataDir: string;
}

export function demoPlace(dataDir: string): DemoPlace {
  return { database: path.join(dataDir, 'demo.db'), dataDir: path.join(dataDir, 'demo') };
}

/** The environment the demo runs with: the demo database and folder, and mail kept in the outbox whatever SMTP_URL says. */
export function demoEnvironment(
  env: Record<string, string | undefined>,
  place: DemoPlace,
): Record<string, string | undefined> {
  return { ...env, DATABASE_URL: `sqlite:${place.database}`, DATA_DIR: place.dataDir, SMTP_URL: undefined };
}

const sqliteFiles = (file: string) => [file, `${file}-wal`, `${file}-shm`];

/** Deletes the demo database and folder (and a half-made database left by an interrupted run). */
export function removeDemo(place: DemoPlace): void {
  for (const file of [...sqliteFiles(place.database), ...sqliteFiles(`${place.database}.partial`)])
    rmSync(file, { force: true });
  rmSync(place.dataDir, { recursive: true, force: true });
}

export type DemoReady =
  { made: true; summary: DemoSummary; logins: DemoLogin[] } | { made: false; logins: DemoLogin[] };

/**
 * The demo database, ready to serve: reused when it exists (with new passwords for its staff),
 * otherwise made — into `demo.db.partial`, renamed when complete, so an interrupted run never
 * leaves a half-filled demo behind.
 */
export async function prepareDemo(
  place: DemoPlace,
  env: Record<string, string | undefined>,
  scale: DemoScale,
  now = Date.now(),
  log: (line: string) => void = () => {},
): Promise<DemoReady> {
  if (existsSync(place.database)) {
    // A demo made before the shop's details lived in Settings gets them now.
    const logins = await withDemoApp(loadConfig(demoEnvironment(env, place)), async (app) => {
      if (!(await getSettings(app.db, { now })).postalAddress) await applyDemoShopSettings(app.db, now);
      return renewDemoPasswords(app.db, now);
    });
    if (logins) return { made: false, logins };
    log(`${place.database} is not a finished demo: making it again`);
    removeDemo(place);
  }
  const partial = `${place.database}.partial`;
  for (const file of sqliteFiles(partial)) rmSync(file, { force: true });
  const config = loadConfig({ ...demoEnvironment(env, place), DATABASE_URL: `sqlite:${partial}` });
  const summary = await withDemoApp(config, (app) => generateDemo(app, scale, now, log));
  renameSync(partial, place.database);
  return { made: true, summary, logins: summary.logins };
}

async function withDemoApp<T>(
  config: Readonly<Config>,
  work: (app: ReturnType<typeof createAppContext>) => Promise<T>,
): Promise<T> {
  const app = createAppContext(config);
  try {
    await upgradeDatabase(app.db, app.secret);
    return await work(app);
  } finally {
    await app.close();
  }
}
