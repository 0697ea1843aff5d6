import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultAsnSourceDir, defaultCacheDir, loadAsnTables } from '../../src/lib/network/asn-data.ts';
import { buildSite } from '../../src/lib/build/site-builds.ts';
import { prepareDatabaseTemplates } from './database-templates.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Builds the site once for every test that starts the real server, as `npm start` does: into a
 * fresh folder under dist/, skipped when the sources are unchanged (SKIP_BUILD=1 skips it outright).
 */
export default async function setup(): Promise<void> {
  // Compiles the IP → network table once, so servers started in parallel all read the cache.
  loadAsnTables({ sourceDir: defaultAsnSourceDir(), cacheDir: process.env.NETWORK_CACHE_DIR ?? defaultCacheDir() });
  await prepareDatabaseTemplates();
  if (process.env.SKIP_BUILD === '1') return;
  await buildSite(root, { quiet: true });
}
