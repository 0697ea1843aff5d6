import type { Kysely, Transaction } from 'kysely';

/** Writes one kind of event row: a single multi-row insert inside the writer's transaction. */
export type BatchInserter<DB, Row> = (trx: Transaction<DB>, rows: Row[]) => Promise<void>;

interface Pending<Row> {
  kind: string;
  row: Row;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface EventWriterOptions {
  /** How long the first hit of a batch may wait for company before the batch commits. */
  maxWaitMs: number;
  /** A batch commits at once when it reaches this many rows. */
  maxBatch: number;
  onError?: (error: unknown, rows: number) => void;
}

/**
 * Group commit: hits arriving within a few milliseconds share one transaction, and each
 * `write` resolves only after the transaction holding its row committed. Nothing
 * acknowledged is lost on a crash, while one commit serves many requests.
 */
export class EventWriter<DB, Inserters extends Record<string, BatchInserter<DB, any>>> {
  readonly #db: Kysely<DB>;
  readonly #inserters: Inserters;
  readonly #options: EventWriterOptions;
  #queue: Pending<unknown>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(db: Kysely<DB>, inserters: Inserters, options: EventWriterOptions) {
    this.#db = db;
    this.#inserters = inserters;
    this.#options = options;
  }

  get pending(): number {
    return this.#queue.length;
  }

  write<K extends keyof Inserters & string>(kind: K, row: Parameters<Inserters[K]>[1][number]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('event writer is closed'));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ kind, row, resolve, reject });
      if (this.#queue.length >= this.#options.maxBatch) this.#schedule(0);
      else this.#schedule(this.#options.maxWaitMs);
    });
  }

  #schedule(delay: number): void {
    if (this.#flushing) return; // the running flush picks the queue up when it ends
    if (this.#timer && delay > 0) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#drain(), delay);
  }

  async #drain(): Promise<void> {
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      this.#flushing = this.#commit(batch);
      await this.#flushing;
    }
    this.#flushing = undefined;
  }

  async #commit(batch: Pending<unknown>[]): Promise<void> {
    try {
      await this.#insertAll(batch);
      for (const p of batch) p.resolve();
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
    const byKind = new Map<string, unknown[]>();
    for (const p of batch) {
      let rows = byKind.get(p.kind);
      if (!rows) byKind.set(p.kind, (rows = []));
      rows.push(p.row);
    }
    await this.#db.transaction().execute(async (trx) => {
      for (const [kind, rows] of byKind) await this.#inserters[kind]!(trx, rows);
    });
  }

  /** Commits everything queued so far. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#flushing) {
      if (this.#flushing) await this.#flushing;
      else {
        clearTimeout(this.#timer);
        await this.#drain();
      }
    }
  }

  /** Refuses new writes, then commits what is queued. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }
}
