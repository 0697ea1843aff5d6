// npm run build [-- --force] [--quiet]
// Builds the site into a fresh folder under dist/ and makes it current, unless the current build
// is of the same sources (--force builds anyway); servers already running keep their own folder.
// How and why: src/lib/build/site-builds.ts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildSite } from '../src/lib/build/site-builds.ts';

const usage = 'usage: npm run build [-- --force] [--quiet]';
let values: { force?: boolean; quiet?: boolean };
try {
  ({ values } = parseArgs({ options: { force: { type: 'boolean' }, quiet: { type: 'boolean' } }, strict: true }));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  process.exit(1);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
try {
  await buildSite(root, { force: values.force, quiet: values.quiet });
} catch (error) {
  console.error(`[build] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
