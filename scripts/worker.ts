// npm run worker
// One more send worker process: claims deliveries of running sends and mails them through the
// configured SMTP pool (or the outbox). On PostgreSQL start as many as you like; on SQLite only
// one worker may run (the server runs one unless SEND_WORKER=0) — a second exits 1 saying so.
// SIGTERM/SIGINT: messages in flight finish and are recorded, then it exits 0.
import { ConfigError, getConfig } from '../src/lib/config.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAppContext } from '../src/lib/app/context.ts';
import { currentBuild } from '../src/lib/build/site-builds.ts';
import { builtPagePaths } from '../src/lib/build/site-pages.ts';
import { upgradeDatabase } from '../src/lib/app/upgrade-database.ts';
import { createSendWorker, experimentChore, weeklyDigestChore } from '../src/lib/sending/run-worker.ts';
import { composeWeeklyDigest } from '../src/admin/weekly-digest.ts';
import { bounceMailboxChore } from '../src/lib/bounces/mailbox/chore.ts';
import { WorkerLockedError } from '../src/lib/sending/worker.ts';
import { keepNewFilesPrivate } from '../src/lib/security/private-files.ts';

keepNewFilesPrivate();

let config;
try {
  config = getConfig();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}

// The own-site link check when a scheduled issue is frozen reads the pages of the current build
// (it may be rebuilt while this worker runs).
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const app = createAppContext(config, {
  sitePages: () => {
    const build = currentBuild(root);
    return build ? builtPagePaths(build.clientDir) : undefined;
  },
});
const worker = createSendWorker(app, [
  weeklyDigestChore({ ...app, compose: composeWeeklyDigest }, config.sending.digestCheckMs),
  ...[bounceMailboxChore(app)].filter((c) => c !== undefined),
  experimentChore(app, Math.max(config.sending.pollMs, 1000)),
]);

// Signals are handled from the start: one that arrives while the worker starts stops it once started.
let stopping = false;
let started: Promise<void> | undefined;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`[worker] ${signal}: finishing the messages in flight`);
  await started?.catch(() => {});
  await worker.stop();
  await app.close();
  console.log(`[worker] stopped (${worker.sent} message(s) sent)`);
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

try {
  await upgradeDatabase(app.db, app.secret);
  started = worker.start();
  await started;
} catch (error) {
  console.error(
    `[worker] not started: ${error instanceof WorkerLockedError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  await app.close();
  process.exit(1);
}
if (!stopping)
  console.log(
    `[worker] ${worker.id} running (${app.mailer.mode === 'smtp' ? `SMTP pool of ${config.mail.poolSize}` : 'outbox'}, database ${config.databaseUrl.split(':')[0]})`,
  );
