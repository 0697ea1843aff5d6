// The WAL checkpointer's thread (wal-checkpointer.ts): its own connection to the database file,
// copying committed WAL frames into the file every `intervalMs`, so the server's event loop
// never waits for a checkpoint's writes and fsyncs.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new BetterSqlite3(file, { timeout: 1000, fileMustExist: true });
// The checkpoint syncs the WAL before copying it and the file after, as the server's own did.
db.pragma('synchronous = NORMAL');

let lastCheckpointed = -1;
function checkpoint(): void {
  // PASSIVE: copies what no reader still needs, never waits for or blocks the writer.
  const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  if (result && result.checkpointed !== lastCheckpointed) {
    lastCheckpointed = result.checkpointed;
    parentPort!.postMessage({ checkpointed: result.checkpointed });
  }
}

const timer = setInterval(checkpoint, intervalMs);
parentPort!.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
