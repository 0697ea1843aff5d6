import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildSite } from '../../src/lib/build/site-builds.ts';
import { prepareDatabaseTemplates } from './database-templates.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Builds the site once for every test that starts the real server, as `npm start` does: into a
 * fresh folder under dist/, skipped when the sources are unchanged (SKIP_BUILD=1 skips it outright).
 */
export default async function setup(): Promise<void> {
  // The three set-up steps side by side (a fresh clone's first run spends ~40 s in them, one after
  // the other): the IP → network table compiled in a worker thread, the templates, then the build
  // (a child process the main thread waits on synchronously; the worker goes on meanwhile).
  const networks = compileNetworks();
  await prepareDatabaseTemplates();
  if (process.env.SKIP_BUILD !== '1') await buildSite(root, { quiet: true });
  await networks;
}

/** Compiles the IP → network table into its cache once, so servers started in parallel all read it. */
function compileNetworks(): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./compile-networks.ts', import.meta.url));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`compiling the network table: exit ${code}`)),
    );
  });
}
