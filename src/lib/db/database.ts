import path from 'node:path';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely';
import type { Database } from './schema.ts';
import { PipelinedPostgresDialect } from './pipelined-postgres.ts';
import { makeFilePrivate, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../security/private-files.ts';

export type Dialect = 'sqlite' | 'postgres';
export type DB = Kysely<Database>;

export interface DatabaseLocation {
  dialect: Dialect;
  /** A file path for SQLite, a connection string for PostgreSQL. */
  target: string;
}

/** `postgres://…` → PostgreSQL; `sqlite:<path>` or a bare path → SQLite (":memory:" allowed). */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', target: url };
  const file = url.startsWith('sqlite:') ? url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : url;
  if (!file) throw new Error('DATABASE_URL: sqlite: needs a file path');
  return { dialect: 'sqlite', target: file === ':memory:' ? file : path.resolve(file) };
}

// int8 (counts, epoch-millisecond columns) arrives as a string from pg; every value we store fits a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));

/** Reads of pages outside the page cache without a system call, up to this size of file. */
const MMAP_BYTES = 256 * 1024 * 1024;

/**
 * The database file is its owner's alone (mode 600: it holds password hashes and every address).
 * SQLite gives the -wal and -shm files it creates the database's mode; a database made readable
 * to others before this rule is tightened, with its -wal and -shm.
 */
function prepareSqliteFile(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  const tightened = [file, `${file}-wal`, `${file}-shm`].filter(makeFilePrivate);
  if (tightened.length > 0)
    console.log(`[db] made ${tightened.map((f) => path.basename(f)).join(', ')} readable by its owner only (mode 600)`);
}

export function openSqlite(file: string): BetterSqlite3.Database {
  if (file !== ':memory:') prepareSqliteFile(file);
  const sqlite = new BetterSqlite3(file, { timeout: 5000 });
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit survives a process crash (kill -9); only power loss can drop the last commits.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // A 4 MB page cache instead of better-sqlite3's 16 MB, on purpose: when a write splits or
  // merges B-tree pages, SQLite swaps page numbers through the lock-byte page (262,145), and the
  // commit after it then walks the whole page cache to drop pages past the file's end. The walk
  // grows with the cache (the measurement: docs/performance.md).
  // Reads that miss it come from the OS's cache, or from the file mapped into memory.
  sqlite.pragma('cache_size = -4000');
  sqlite.pragma(`mmap_size = ${MMAP_BYTES}`);
  return sqlite;
}

/**
 * SQLite transactions begin IMMEDIATE. A deferred one that reads first and writes later cannot
 * wait when another connection (a second server process, the worker, a script) wrote in
 * between: its upgrade to a write lock fails at once with "database is locked", whatever the
 * busy timeout (seen in CI: a test's seeding transaction against the server it had started).
 * An immediate one takes the write lock at BEGIN and waits for it (busy_timeout), as the event
 * writer's transactions already do.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

const sqliteHandles = new WeakMap<Kysely<any>, BetterSqlite3.Database>();

/**
 * The better-sqlite3 handle behind a SQLite Kysely instance, for the one hot path that
 * needs a cached prepared statement (the event writer). Use it only inside
 * `db.connection().execute(…)`, which holds Kysely's connection lock.
 */
export function sqliteHandle(db: Kysely<any>): BetterSqlite3.Database | undefined {
  return sqliteHandles.get(db);
}

export function createDatabase(url: string, options: { poolSize?: number } = {}): DB {
  const location = parseDatabaseUrl(url);
  if (location.dialect === 'postgres') {
    // Pipeline mode: a query is written at once, not after the previous one's answer (the driver
    // groups a transaction's held-back statements into one round trip: pipelined-postgres.ts).
    const pool = new pg.Pool({ connectionString: location.target, max: options.poolSize ?? 10, pipeline: true });
    pool.on('error', (error) => console.error('[db] idle PostgreSQL client error:', error.message));
    return new Kysely<Database>({ dialect: new PipelinedPostgresDialect(pool) });
  }
  const sqlite = openSqlite(location.target);
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  sqliteHandles.set(db, sqlite);
  return db;
}

export function dialectOf(db: Kysely<any>): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** True when a trivial query answers: what /healthz reports. */
export async function pingDatabase(db: Kysely<any>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
