import type { Kysely, Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { sqliteHandle } from '../db/database.ts';

/**
 * Writes one kind of event row inside the writer's transaction, both dialects side by side:
 * PostgreSQL through Kysely (a multi-row insert), SQLite through a cached prepared statement
 * (compiling and preparing a fresh multi-row statement per batch costs more than the insert).
 * An inserter may answer one result per row (in the rows' order): each `write` resolves with
 * its row's result once the transaction committed.
 */
export interface BatchInserter<DB, Row> {
  kysely: (trx: Transaction<DB>, rows: Row[]) => Promise<unknown[] | void>;
  sqlite: (sqlite: BetterSqlite3.Database, rows: Row[]) => unknown[] | void;
}

/** What `write` resolves with for an inserter: its per-row result, or undefined. */
export type WriteResult<I> = I extends { sqlite: (...args: any[]) => infer R }
  ? R extends readonly (infer X)[]
    ? X
    : undefined
  : undefined;

/** One inserter's side of a writer: its rows go in, each resolves (with its result) once committed. */
export interface EventHandle<Row, Result = unknown> {
  write(row: Row): Promise<Result>;
}

/** What one row is for: its inserter (the handle `write` was given) and the row. */
export interface QueuedRow {
  inserter: BatchInserter<any, any>;
  row: unknown;
}

interface Pending<Row> {
  inserter: BatchInserter<any, Row>;
  row: Row;
  result: unknown;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

export interface EventWriterOptions<DB = any> {
  /**
   * How long the first hit of a partial batch may wait for company. 0 (the default) means the
   * end of the current event-loop turn; everything queued while a commit is under way (a
   * PostgreSQL round trip) shares the next one.
   */
  maxWaitMs: number;
  /**
   * With maxWaitMs 0: how many more event-loop turns a partial batch may wait while hits keep
   * arriving. A turn that brought no new hit commits at once, so a lone hit never waits; under
   * load, each commit's fixed cost is shared by more hits.
   */
  maxTurns?: number;
  /** A batch commits at once when it reaches this many rows. */
  maxBatch: number;
  /**
   * PostgreSQL: how many batches may be committing at once, each in its own transaction on its
   * own pooled connection (SQLite commits synchronously: always one). A batch waits on the
   * network for most of its life (a round trip a statement, then the WAL flush); with one at a
   * time the process idles while hits queue. Each hit is still answered only after the
   * transaction holding its row committed, and batches lock what they share in one fixed order.
   */
  concurrency?: number;
  onError?: (error: unknown, rows: number) => void;
  /**
   * PostgreSQL: called first in each batch's transaction with all its rows, to take the locks
   * the inserters will need in one fixed order (so two processes' batches cannot deadlock).
   */
  lock?: (trx: Transaction<DB>, batch: readonly QueuedRow[]) => Promise<void>;
}

/**
 * Group commit: hits arriving within a few milliseconds share one transaction, and each
 * `write` resolves only after the transaction holding its row committed. Nothing
 * acknowledged is lost on a crash, while one commit serves many requests.
 *
 * A row is written by the inserter it is handed with (`write(hitInserter, hit)`): its type says
 * what rows it takes and what each resolves with. The inserters a writer is built with, in that
 * order, are the only ones it takes, and a batch writes their rows in that order (tracking hits
 * before the page views they lead to, say), whatever order the rows arrived in.
 */
export class EventWriter<DB, Inserters extends Record<string, BatchInserter<DB, any>>> {
  readonly #db: Kysely<DB>;
  /** Each inserter's place in the writing order. */
  readonly #order: Map<BatchInserter<DB, any>, number>;
  readonly #options: EventWriterOptions<DB>;
  #queue: Pending<unknown>[] = [];
  #cancelScheduled: (() => void) | undefined;
  /** Batches committing now. */
  readonly #inFlight = new Set<Promise<void>>();
  #slots: number;
  #closed = false;

  constructor(db: Kysely<DB>, inserters: Inserters, options: EventWriterOptions<DB>) {
    this.#db = db;
    this.#order = new Map(Object.values(inserters).map((inserter, i) => [inserter, i]));
    this.#options = options;
    this.#slots = sqliteHandle(db) ? 1 : Math.max(1, options.concurrency ?? 1);
  }

  /** `inserter`'s side of this writer, for code that writes one kind of row (it never picks an inserter). */
  handle<I extends Inserters[keyof Inserters]>(
    inserter: I,
  ): EventHandle<Parameters<I['sqlite']>[1][number], WriteResult<I>> {
    return { write: (row) => this.write(inserter, row) };
  }

  get pending(): number {
    return this.#queue.length;
  }

  write<I extends Inserters[keyof Inserters]>(
    inserter: I,
    row: Parameters<I['sqlite']>[1][number],
  ): Promise<WriteResult<I>> {
    if (this.#closed) return Promise.reject(new Error('event writer is closed'));
    if (!this.#order.has(inserter)) return Promise.reject(new Error('event writer: an inserter it was not built with'));
    return new Promise<WriteResult<I>>((resolve, reject) => {
      this.#queue.push({ inserter, row, result: undefined, resolve: resolve as (result: unknown) => void, reject });
      this.#schedule(this.#queue.length >= this.#options.maxBatch);
    });
  }

  /**
   * A full batch commits as soon as the current callback yields, so answers start flowing
   * while the server is still reading requests; a partial batch waits for the end of this
   * event-loop turn (or maxWaitMs), so every hit read in the same I/O poll shares its commit,
   * and for up to maxTurns more turns as long as each brings more hits (a commit has a fixed cost
   * whatever its size, which more hits then share; docs/performance.md).
   */
  #schedule(full: boolean): void {
    if (this.#inFlight.size >= this.#slots) return; // a running commit picks the queue up when it ends
    if (this.#cancelScheduled && !full) return;
    this.#cancelScheduled?.();
    if (full) {
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) this.#drain();
      });
      this.#cancelScheduled = () => (cancelled = true);
    } else if (this.#options.maxWaitMs === 0) {
      let turnsLeft = this.#options.maxTurns ?? 0;
      let queued = this.#queue.length;
      let immediate: NodeJS.Immediate;
      const endOfTurn = () => {
        if (turnsLeft > 0 && this.#queue.length > queued) {
          turnsLeft--;
          queued = this.#queue.length;
          immediate = setImmediate(endOfTurn);
        } else this.#drain();
      };
      immediate = setImmediate(endOfTurn);
      this.#cancelScheduled = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(() => this.#drain(), this.#options.maxWaitMs);
      this.#cancelScheduled = () => clearTimeout(timer);
    }
  }

  #drain(): void {
    this.#cancelScheduled = undefined;
    while (this.#queue.length > 0 && this.#inFlight.size < this.#slots) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      const committing: Promise<void> = this.#commit(batch).then(() => {
        this.#inFlight.delete(committing);
        // What queued while this batch committed goes next, with no further wait.
        if (this.#queue.length > 0) this.#drain();
      });
      this.#inFlight.add(committing);
    }
  }

  async #commit(batch: Pending<unknown>[]): Promise<void> {
    try {
      await this.#insertAll(batch);
      for (const p of batch) p.resolve(p.result);
    } catch (error) {
      if (batch.length === 1) {
        this.#options.onError?.(error, 1);
        batch[0]!.reject(error);
        return;
      }
      // One bad row must not sink its neighbours: retry each alone, so only the culprit fails.
      for (const p of batch) await this.#commit([p]);
    }
  }

  async #insertAll(batch: Pending<unknown>[]): Promise<void> {
    const found = new Map<BatchInserter<DB, any>, Pending<unknown>[]>();
    for (const p of batch) {
      p.result = undefined; // a batch retried row by row starts afresh
      let pending = found.get(p.inserter);
      if (!pending) found.set(p.inserter, (pending = []));
      pending.push(p);
    }
    const byKind =
      found.size === 1 ? found : new Map([...found].sort(([a], [b]) => this.#order.get(a)! - this.#order.get(b)!));
    const keep = (pending: Pending<unknown>[], results: unknown[] | void) => {
      if (results) for (let i = 0; i < pending.length; i++) pending[i]!.result = results[i];
    };
    const sqlite = sqliteHandle(this.#db);
    if (sqlite) {
      const writeAll = () =>
        this.#sqliteTransaction(sqlite)(() => {
          for (const [inserter, pending] of byKind)
            keep(
              pending,
              inserter.sqlite(
                sqlite,
                pending.map((p) => p.row),
              ),
            );
        });
      // Ours runs synchronously from BEGIN to COMMIT, so it can only interleave with a Kysely
      // transaction already open on the connection: then it waits for Kysely's connection lock.
      if (!sqlite.inTransaction) writeAll();
      else await this.#db.connection().execute(async () => writeAll());
      return;
    }
    await this.#db.transaction().execute(async (trx) => {
      await this.#options.lock?.(trx, batch);
      for (const [inserter, pending] of byKind)
        keep(
          pending,
          await inserter.kysely(
            trx,
            pending.map((p) => p.row),
          ),
        );
    });
  }

  // better-sqlite3 builds a transaction function with four variants each time it is asked: made once.
  // BEGIN IMMEDIATE: a batch reads before it writes, and a deferred transaction whose read snapshot
  // another process's commit made stale cannot take the write lock (SQLITE_BUSY at once, no busy
  // wait); an immediate one waits for the lock (busy_timeout) and reads what that commit wrote.
  #transaction: { sqlite: BetterSqlite3.Database; run: (work: () => void) => void } | undefined;

  #sqliteTransaction(sqlite: BetterSqlite3.Database): (work: () => void) => void {
    if (this.#transaction?.sqlite !== sqlite) {
      const transaction = sqlite.transaction((work: () => void) => work());
      this.#transaction = { sqlite, run: (work) => transaction.immediate(work) };
    }
    return this.#transaction.run;
  }

  /** Commits everything queued so far. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight.size > 0) {
      if (this.#queue.length > 0 && this.#inFlight.size < this.#slots) {
        this.#cancelScheduled?.();
        this.#drain();
      } else await Promise.race(this.#inFlight);
    }
  }

  /** Refuses new writes, then commits what is queued. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }
}
