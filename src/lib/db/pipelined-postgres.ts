import pg from 'pg';
import {
  AbortedTransactionError,
  CompiledQuery,
  PostgresDialect,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/**
 * PostgreSQL through Kysely with fewer round trips in a transaction. Kysely sends BEGIN, each
 * statement and COMMIT as separate messages, each a round trip (and on loopback a system call on
 * both sides plus a wake-up of the other). The pool's clients run in node-postgres's pipeline
 * mode (a query is written at once, not after the previous one's answer), and this driver:
 *
 * - holds BEGIN back and writes it with the transaction's first statement;
 * - holds back writes marked `deferrable` (their outcome is not needed: a plan's INSERTs and
 *   UPDATEs) and writes them in front of the next statement, or of COMMIT;
 * - keeps statements marked `keptPrepared` (a text that is one of a fixed few) prepared on each
 *   connection under a name, so PostgreSQL parses and plans them once, not per batch.
 *
 * What goes together is written in one system call and answered in one round trip: a
 * group-committed batch of tracking hits is `begin` + its locking read, then its writes + `commit`.
 * The statements and their order are unchanged; an error in a held-back write surfaces at the
 * next statement or at COMMIT (the first error of the group is thrown), and the transaction rolls
 * back as before.
 */

const deferrable = new WeakSet<CompiledQuery>();
const prepared = new WeakSet<CompiledQuery>();
/** Statement names by text: the same text has the same name on every connection. */
const names = new Map<string, string>();

/** Marks a write whose outcome its caller does not read: in a transaction it may go with the next statement or COMMIT. */
export function deferrableWrite(query: CompiledQuery): CompiledQuery {
  deferrable.add(query);
  return query;
}

/**
 * Marks a statement whose text is one of a fixed few (no variant per row count: arrays as
 * parameters): each connection prepares it once under a name and then only binds its values.
 */
export function keptPrepared(query: CompiledQuery): CompiledQuery {
  prepared.add(query);
  return query;
}

function configOf(query: CompiledQuery): pg.QueryConfig {
  const values = query.parameters as unknown[];
  if (!prepared.has(query)) return { text: query.sql, values };
  let name = names.get(query.sql);
  if (name === undefined) names.set(query.sql, (name = `footfall_${names.size + 1}`));
  return { name, text: query.sql, values };
}

type PgResult = pg.QueryResult;

function resultOf<R>(result: PgResult | PgResult[]): QueryResult<R> {
  const last = Array.isArray(result) ? result[result.length - 1]! : result;
  const { command, rowCount, rows } = last;
  if (command === 'ROLLBACK' || command === 'COMMIT') return { rows: [{ command } as R] };
  return {
    numAffectedRows:
      command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
        ? BigInt(rowCount ?? 0)
        : undefined,
    rows: (rows ?? []) as R[],
  };
}

/** The socket under a client: corked while a group of queries is written, so they leave in one write. */
function streamOf(client: pg.PoolClient): { cork(): void; uncork(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { cork(): void; uncork(): void } } }).connection?.stream;
}

class PipelinedConnection implements DatabaseConnection {
  readonly client: pg.PoolClient;
  discarded = false;
  #inTransaction = false;
  /** BEGIN (or START TRANSACTION …) not sent yet. */
  #begin: string | undefined;
  /** Deferred writes, not sent yet. */
  #held: CompiledQuery[] = [];

  constructor(client: pg.PoolClient) {
    this.client = client;
  }

  begin(text: string): void {
    this.#inTransaction = true;
    this.#begin = text;
    this.#held = [];
  }

  /** Writes what is held, then `last`, in one write; resolves with `last`'s result once every one was answered. */
  async #sendWithHeld(last: pg.QueryConfig): Promise<PgResult> {
    const stream = streamOf(this.client);
    const sent: Promise<PgResult>[] = [];
    stream?.cork();
    try {
      if (this.#begin !== undefined) sent.push(this.client.query(this.#begin));
      for (const query of this.#held) sent.push(this.client.query(configOf(query)));
      sent.push(this.client.query(last));
    } finally {
      this.#begin = undefined;
      this.#held = [];
      stream?.uncork();
    }
    const settled = await Promise.allSettled(sent);
    // The first error is the cause; the statements after it fail as "transaction is aborted".
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    return (settled[settled.length - 1] as PromiseFulfilledResult<PgResult>).value;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.discarded) throw new Error('PostgreSQL connection has been discarded');
    if (this.#inTransaction && deferrable.has(query)) {
      this.#held.push(query);
      return { rows: [] };
    }
    if (this.#begin === undefined && this.#held.length === 0) return resultOf(await this.client.query(configOf(query)));
    return resultOf(await this.#sendWithHeld(configOf(query)));
  }

  async end(statement: 'commit' | 'rollback'): Promise<QueryResult<{ command: string }> | undefined> {
    this.#inTransaction = false;
    if (statement === 'rollback') {
      const begun = this.#begin === undefined;
      this.#begin = undefined;
      this.#held = [];
      return begun ? resultOf(await this.client.query('rollback')) : undefined;
    }
    if (this.#begin !== undefined && this.#held.length === 0) {
      this.#begin = undefined; // nothing was asked of this transaction
      return undefined;
    }
    return resultOf(await this.#sendWithHeld({ text: 'commit' }));
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on this connection');
  }
}

function pipelined(connection: DatabaseConnection): PipelinedConnection {
  if (connection instanceof PipelinedConnection) return connection;
  throw new Error('not a connection of the pipelined PostgreSQL driver');
}

class PipelinedPostgresDriver implements Driver {
  readonly #pool: pg.Pool;
  readonly #connections = new WeakMap<pg.PoolClient, PipelinedConnection>();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async init(): Promise<void> {
    // the pool is handed over ready
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const client = await this.#pool.connect();
    let connection = this.#connections.get(client);
    if (!connection) this.#connections.set(client, (connection = new PipelinedConnection(client)));
    return connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let text = 'begin';
    if (settings.isolationLevel || settings.accessMode) {
      text = 'start transaction';
      if (settings.isolationLevel) text += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) text += ` ${settings.accessMode}`;
    }
    pipelined(connection).begin(text);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const result = await pipelined(connection).end('commit');
    // PostgreSQL completes COMMIT with a ROLLBACK tag when an earlier error left the transaction aborted.
    if (result?.rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = pipelined(connection);
    try {
      await c.end('rollback');
    } catch (error) {
      c.discarded = true;
      throw error;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = pipelined(connection);
    if (c.discarded) this.#connections.delete(c.client);
    c.client.release(c.discarded);
  }

  async destroy(): Promise<void> {
    await this.#pool.end();
  }
}

/** Kysely's PostgreSQL dialect with the pipelined driver above. */
export class PipelinedPostgresDialect extends PostgresDialect {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    super({ pool });
    this.#pool = pool;
  }

  override createDriver(): Driver {
    return new PipelinedPostgresDriver(this.#pool);
  }
}
