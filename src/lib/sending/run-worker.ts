import type { AppContext } from '../app/context.ts';
import type { ComposeDigest } from '../digest/digest.service.ts';
import { sendWeeklyDigests } from '../digest/digest.service.ts';
import { runExperimentChore } from '../experiments/experiments.service.ts';
import { SendWorker, WorkerLockedError, type WorkerChore } from './worker.ts';

/**
 * The weekly digest, sent by the send worker (the one scheduler): checked every DIGEST_CHECK_MS.
 * How a digest reads (`compose`) is the admin's view, handed in by whoever starts the worker.
 */
export function weeklyDigestChore(
  app: Pick<AppContext, 'db' | 'mailer' | 'secret'> & { compose: ComposeDigest },
  everyMs: number,
  log: (line: string) => void = console.log,
): WorkerChore {
  return {
    name: 'weekly digest',
    everyMs,
    run: async (now, workerId) => {
      const sent = await sendWeeklyDigests(
        { db: app.db, mailer: app.mailer, secret: app.secret, compose: app.compose, log },
        workerId,
        now,
      );
      if (sent > 0) log(`[digest] weekly digest sent to ${sent} ${sent === 1 ? 'person' : 'people'}`);
    },
  };
}

/**
 * Experiments on sends (src/lib/experiments): an A/B test whose wait ended is decided and its
 * winner released to the rest; checked every `everyMs` (safe with several workers: a decision
 * moves the experiment's state in the database once).
 */
export function experimentChore(
  app: Pick<AppContext, 'db'>,
  everyMs: number,
  log: (line: string) => void = console.log,
): WorkerChore {
  return {
    name: 'experiments',
    everyMs,
    run: async (now) => {
      for (const d of await runExperimentChore(app.db, now))
        log(
          `[experiments] issue ${d.issueId}: variant ${d.winner} goes to the rest (${d.how === 'auto' ? 'it won' : 'within noise: the first variant'})`,
        );
    },
  };
}

/** A send worker over the process's database and mailer, with the settings from the configuration. */
export function createSendWorker(
  app: Pick<AppContext, 'db' | 'mailer' | 'config' | 'issueSending'>,
  chores: WorkerChore[] = [],
): SendWorker {
  const { sending, mail } = app.config;
  return new SendWorker({
    db: app.db,
    mailer: app.mailer,
    hooks: app.issueSending,
    concurrency: mail.poolSize,
    leaseMs: sending.leaseMs,
    pollMs: sending.pollMs,
    retryBaseMs: sending.retryBaseMs,
    maxAttempts: sending.maxAttempts,
    pauseAfterFailures: sending.pauseAfterFailures,
    commitRetryMaxMs: sending.commitRetryMaxMs,
    commitAttemptsBeforePause: sending.commitAttempts,
    chores,
  });
}

export interface EmbeddedWorker {
  /** The worker while it runs (undefined while another holds the SQLite lock). */
  readonly worker: SendWorker | undefined;
  stop(): Promise<void>;
}

/**
 * The worker `npm start` runs inside the server. When another worker holds the SQLite lock
 * (say `npm run worker`), the server says so once and tries again every lease period, so it
 * takes over when that one stops.
 */
export function startEmbeddedWorker(
  app: Pick<AppContext, 'db' | 'mailer' | 'config' | 'issueSending'>,
  chores: WorkerChore[] = [],
  log: (line: string) => void = console.log,
): EmbeddedWorker {
  let current: SendWorker | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let told = false;
  let starting: Promise<void> | undefined;
  const attempt = async () => {
    if (stopped) return;
    const worker = createSendWorker(app, chores);
    try {
      await worker.start();
      if (stopped) {
        await worker.stop();
        return;
      }
      current = worker;
      log(
        `[send] worker ${worker.id} running (${app.mailer.mode === 'smtp' ? `SMTP pool of ${app.config.mail.poolSize}` : 'outbox'})`,
      );
    } catch (error) {
      if (!(error instanceof WorkerLockedError) || !told)
        log(`[send] the send worker did not start: ${error instanceof Error ? error.message : String(error)}`);
      if (error instanceof WorkerLockedError) told = true;
      retry = setTimeout(() => void (starting = attempt()), app.config.sending.leaseMs);
      retry.unref();
    }
  };
  starting = attempt();
  return {
    get worker() {
      return current;
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await starting;
      await current?.stop();
    },
  };
}
