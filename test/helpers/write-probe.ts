import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';

/**
 * Watches another process's database for a write transaction in progress, so a crash test can
 * SIGKILL the server while that transaction is open rather than at a random moment:
 *
 * - PostgreSQL: a backend other than ours holds a row-exclusive lock on `table` (taken by its
 *   first INSERT or UPDATE there and kept until the transaction ends). Exact: before the ledger
 *   exists, only the audience's freeze writes to `deliveries`.
 * - SQLite: another connection holds the database's write lock (our `BEGIN IMMEDIATE` is refused
 *   at once), without a break, for `heldMs`. SQLite cannot say which table a writer touches; a
 *   request's other writes are single statements over in a millisecond or two, so a lock held
 *   that long is the freeze's transaction.
 *
 * Nothing in the server is paused or hooked: the probe only reads.
 */
export interface WriteProbe {
  /** Resolves true once the write is seen, false when `timeoutMs` passed without it. */
  waitForWrite(options: { timeoutMs: number; heldMs: number }): Promise<boolean>;
  /**
   * Resolves once nobody holds it (a killed server's PostgreSQL backend may outlive it for a
   * moment, its transaction not yet rolled back): read the database as the crash left it after this.
   */
  waitForNone(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const POLL_MS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startWriteProbe(databaseUrl: string, table: string): Promise<WriteProbe> {
  let held: () => Promise<boolean>;
  let close: () => Promise<void>;
  if (databaseUrl.startsWith('sqlite:')) {
    const sqlite = new BetterSqlite3(databaseUrl.slice('sqlite:'.length), { timeout: 0 });
    held = async () => {
      try {
        sqlite.exec('BEGIN IMMEDIATE');
        sqlite.exec('ROLLBACK');
        return false;
      } catch (error) {
        if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) return true;
        throw error;
      }
    };
    close = async () => void sqlite.close();
  } else {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    held = async () =>
      (
        await client.query(
          `select 1 from pg_locks l
             join pg_class c on c.oid = l.relation
            where l.database = (select oid from pg_database where datname = current_database())
              and c.relname = $1 and l.mode = 'RowExclusiveLock' and l.granted and l.pid <> pg_backend_pid()
            limit 1`,
          [table],
        )
      ).rowCount! > 0;
    close = () => client.end();
  }
  return {
    async waitForWrite({ timeoutMs, heldMs }) {
      const deadline = Date.now() + timeoutMs;
      let since: number | undefined;
      while (Date.now() < deadline) {
        if (await held()) {
          since ??= Date.now();
          if (Date.now() - since >= heldMs) return true;
        } else since = undefined;
        await sleep(POLL_MS);
      }
      return false;
    },
    async waitForNone(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (await held()) {
        if (Date.now() > deadline) throw new Error(`a write on ${table} still held after ${timeoutMs} ms`);
        await sleep(POLL_MS);
      }
    },
    close,
  };
}
