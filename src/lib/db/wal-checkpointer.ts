import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** SQLite's own threshold: a commit that leaves this many frames in the WAL checkpoints. */
const DEFAULT_AUTOCHECKPOINT = 1000;
/** While the thread runs, the writer checkpoints only if the WAL grows this long (it never resets under unbroken writes). */
const BACKSTOP_FRAMES = 10_000;

export interface WalCheckpointer {
  /** Checkpoints the thread ran that copied frames. */
  readonly checkpoints: number;
  stop(): Promise<void>;
}

/**
 * Moves SQLite's WAL checkpoints off the event loop. By default the connection that commits
 * checkpoints every ~1,000 frames, inside that commit: it copies the frames into the database
 * file and fsyncs both, stalling every request for a few milliseconds several times a second
 * under tracking load (measured: docs/performance.md).
 * A worker thread with its own connection runs PASSIVE checkpoints every `intervalMs` instead,
 * and the writer keeps a backstop: when writes never pause long enough for the WAL to be
 * reset, it checkpoints from 10,000 frames itself (retrying at each commit while the thread is
 * mid-checkpoint), by then with little left to copy.
 */
export function startWalCheckpointer(
  sqlite: BetterSqlite3.Database,
  options: { intervalMs?: number } = {},
): WalCheckpointer | undefined {
  if (sqlite.memory) return undefined;
  const worker = new Worker(new URL('./wal-checkpoint.worker.ts', import.meta.url), {
    workerData: { file: sqlite.name, intervalMs: options.intervalMs ?? 100 },
  });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let checkpoints = 0;
  const restoreAutocheckpoint = () => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
  };
  worker.on('message', (m: { checkpointed: number }) => {
    if (m.checkpointed > 0) checkpoints++;
  });
  worker.on('error', (error: Error) => {
    console.error('[db] the WAL checkpoint thread failed; commits checkpoint again:', error.message);
    restoreAutocheckpoint();
  });
  sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_FRAMES}`);
  return {
    get checkpoints() {
      return checkpoints;
    },
    async stop() {
      worker.ref(); // unreferenced, it would let the process exit while a shutdown waits for it
      worker.postMessage('stop');
      await exited;
      restoreAutocheckpoint();
    },
  };
}
