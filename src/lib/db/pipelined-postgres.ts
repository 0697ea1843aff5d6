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
 * both sides plus a wake-up of the other). This driver:
 *
 * - holds BEGIN back and sends it with the transaction's first statement, as one simple-protocol
 *   query, when that statement can be written out with its values (`withValuesWritten`);
 * - holds back writes marked `deferrable` (their outcome is not needed: a plan's INSERTs and
 *   UPDATEs) and sends them in front of the next statement, or of COMMIT.
 *
 * A group-committed batch of tracking hits thus costs two round trips (`begin; select … for
 * update`, then `with … insert …; commit`) instead of four. The statements and their order are
 * unchanged; an error in a held-back write surfaces at the next statement or at COMMIT, and the
 * transaction rolls back as before. Values are written as quoted literals of the text node-postgres
 * would send as an untyped parameter, so PostgreSQL infers their types from context just the same.
 */

/** Each query's text with its values written in, made only when needed. */
const valuesWritten = new WeakMap<CompiledQuery, () => string | undefined>();
const deferrable = new WeakSet<CompiledQuery>();

/** The text node-postgres sends for a value as a parameter, quoted; undefined when this module does not write such values. */
function literalOf(value: unknown): string | undefined {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return pg.escapeLiteral(value);
    case 'number':
    case 'bigint':
    case 'boolean':
      return `'${String(value)}'`;
    default:
      return undefined;
  }
}

/**
 * Registers how `query` (placeholders `$1`, `$2`, …) reads with its values written in: `parts`
 * are its text split at the placeholders, in order (the statement plans' `?` texts, which never
 * hold a question mark inside a literal). Returns the query.
 */
export function withValuesWritten(
  query: CompiledQuery,
  parts: readonly string[],
  values: readonly unknown[],
): CompiledQuery {
  valuesWritten.set(query, () => {
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i++) {
      const literal = literalOf(values[i - 1]);
      if (literal === undefined) return undefined;
      out += literal + parts[i]!;
    }
    return out;
  });
  return query;
}

/** Marks a write whose outcome its caller does not read: in a transaction it may go with the next statement or COMMIT. */
export function deferrableWrite(query: CompiledQuery): CompiledQuery {
  deferrable.add(query);
  return query;
}

function textOf(query: CompiledQuery): string | undefined {
  if (query.parameters.length === 0) return query.sql;
  return valuesWritten.get(query)?.();
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

class PipelinedConnection implements DatabaseConnection {
  readonly client: pg.PoolClient;
  discarded = false;
  #inTransaction = false;
  /** BEGIN (or START TRANSACTION …) not sent yet. */
  #begin: string | undefined;
  /** Deferred writes' texts, not sent yet. */
  #held: string[] = [];

  constructor(client: pg.PoolClient) {
    this.client = client;
  }

  begin(text: string): void {
    this.#inTransaction = true;
    this.#begin = text;
    this.#held = [];
  }

  /** What is held back, as the statements to send before the next one ('' when nothing). */
  #takeHeld(): string {
    const held = this.#begin === undefined ? this.#held : [this.#begin, ...this.#held];
    this.#begin = undefined;
    this.#held = [];
    return held.length === 0 ? '' : held.join('; ');
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.discarded) throw new Error('PostgreSQL connection has been discarded');
    if (this.#inTransaction && deferrable.has(query)) {
      const text = textOf(query);
      if (text !== undefined) {
        this.#held.push(text);
        return { rows: [] };
      }
    }
    const held = this.#takeHeld();
    if (held !== '') {
      const text = textOf(query);
      if (text !== undefined) return resultOf(await this.client.query(`${held}; ${text}`));
      await this.client.query(held);
    }
    return resultOf(await this.client.query(query.sql, query.parameters as unknown[]));
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
    const held = this.#takeHeld();
    return resultOf(await this.client.query(held === '' ? 'commit' : `${held}; commit`));
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
