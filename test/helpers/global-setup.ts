import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultAsnSourceDir, defaultCacheDir, loadAsnTables } from '../../src/lib/network/asn-data.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Builds the site once for every test that starts the real server (skip with SKIP_BUILD=1). */
export default function setup(): void {
  // Compiles the IP → network table once, so servers started in parallel all read the cache.
  loadAsnTables({ sourceDir: defaultAsnSourceDir(), cacheDir: process.env.NETWORK_CACHE_DIR ?? defaultCacheDir() });
  if (process.env.SKIP_BUILD === '1') return;
  execFileSync(process.execPath, [path.join(root, 'node_modules/astro/bin/astro.mjs'), 'build', '--silent'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    // NODE_ENV=test (set by Vitest) would make Vite build in development mode, and drafts would be published.
    env: { ...process.env, NODE_ENV: 'production', ASTRO_TELEMETRY_DISABLED: '1' },
  });
}
