import { sql, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { sqliteMultiInsert } from '../events/sqlite-multi-row.ts';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { Step } from '../events/statement-plan.ts';
import { dayOf, hourOf, minuteOf, PER_DAY, PER_HOUR, PER_MINUTE, quarterOf, TOTAL } from './buckets.ts';
import type { ArmMetric, DimMetric, MinuteMetric, PlainMetric, TotalByDimMetric } from './metrics.ts';

type Db = DB | Transaction<Database>;

interface CountDelta {
  issueId: number;
  metric: string;
  dim: string;
  bucket: number;
  n: number;
}

/**
 * Changes to the maintained counts collected while a batch is written, summed per key so each
 * key is one upsert (PostgreSQL refuses to update the same row twice in one statement).
 */
export class CountDeltas {
  readonly #byKey = new Map<string, CountDelta>();
  /** Per metric, the four entries of its last `at` call: a batch's rows mostly share issue and quarter hour. */
  readonly #lastByMetric = new Map<string, { issueId: number; quarter: number; entries: CountDelta[] }>();

  /** Per metric, the entry of its last `add` call: a batch's clicks mostly share issue and link. */
  readonly #lastAdded = new Map<string, CountDelta>();

  /** A per-link or per-owner metric: one total a dimension (bucket 0). */
  add(issueId: number, metric: TotalByDimMetric, dim: string, bucket: number, n = 1): void {
    this.#add(issueId, metric, dim, bucket, n);
  }

  #add(issueId: number, metric: string, dim: string, bucket: number, n: number): void {
    let entry = this.#lastAdded.get(metric);
    if (entry?.issueId !== issueId || entry.dim !== dim || entry.bucket !== bucket) {
      entry = this.#entry(issueId, metric, dim, bucket);
      this.#lastAdded.set(metric, entry);
    }
    entry.n += n;
  }

  #entry(issueId: number, metric: string, dim: string, bucket: number): CountDelta {
    const key = `${issueId}\u0000${metric}\u0000${dim}\u0000${bucket}`;
    let found = this.#byKey.get(key);
    if (!found) this.#byKey.set(key, (found = { issueId, metric, dim, bucket, n: 0 }));
    return found;
  }

  /** A plain metric at `at`: its 15-minute, hour and day buckets and its total. */
  at(issueId: number, metric: PlainMetric, at: number, n = 1): void {
    const quarter = quarterOf(at);
    let last = this.#lastByMetric.get(metric);
    if (last?.quarter !== quarter || last.issueId !== issueId) {
      const entries = [
        this.#entry(issueId, metric, '', quarter),
        this.#entry(issueId, metric + PER_HOUR, '', hourOf(at)),
        this.#entry(issueId, metric + PER_DAY, '', dayOf(at)),
        this.#entry(issueId, metric + TOTAL, '', 0),
      ];
      this.#lastByMetric.set(metric, (last = { issueId, quarter, entries }));
    }
    for (const entry of last.entries) entry.n += n;
  }

  /** A plain metric at `at` in its minute bucket too (`metric~m`; the site's visits, calls and walk-ins, for the lift). */
  atToTheMinute(issueId: number, metric: MinuteMetric, at: number, n = 1): void {
    this.at(issueId, metric, at, n);
    this.#add(issueId, metric + PER_MINUTE, '', minuteOf(at), n);
  }

  /** A per-page or per-source metric at `at`: its hour and day buckets. */
  dimAt(issueId: number, metric: DimMetric, dim: string, at: number, n = 1): void {
    this.#add(issueId, metric, dim, hourOf(at), n);
    this.#add(issueId, metric + PER_DAY, dim, dayOf(at), n);
  }

  /** An experiment arm's first time at `at`: its hour bucket and its total (`metric~t`), dimension = the arm. */
  armAt(issueId: number, metric: ArmMetric, arm: string, at: number, n = 1): void {
    this.#add(issueId, metric, arm, hourOf(at), n);
    this.#add(issueId, ARM_TOTALS[metric], arm, 0, n);
  }

  get size(): number {
    return this.#byKey.size;
  }

  rows(): { issue_id: number; metric: string; dim: string; bucket: number; n: number }[] {
    const rows = [];
    for (const d of this.#byKey.values())
      if (d.n !== 0) rows.push({ issue_id: d.issueId, metric: d.metric, dim: d.dim, bucket: d.bucket, n: d.n });
    return rows;
  }
}

/** The per-arm totals' names, made once (a name built per hit is a new string). */
const ARM_TOTALS: Record<ArmMetric, string> = {
  'arm.open_human': 'arm.open_human' + TOTAL,
  'arm.click': 'arm.click' + TOTAL,
  'arm.visit': 'arm.visit' + TOTAL,
};

const CHUNK = 500;

/**
 * A batch's deltas in key order. PostgreSQL: concurrent transactions (two processes, or one
 * process's several writer transactions) upserting the same hot rows then lock them in one order
 * and wait for each other instead of deadlocking.
 */
export function sortedCountRows(deltas: CountDeltas): ReturnType<CountDeltas['rows']> {
  return deltas
    .rows()
    .sort(
      (a, b) =>
        a.issue_id - b.issue_id ||
        (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0) ||
        (a.dim < b.dim ? -1 : a.dim > b.dim ? 1 : 0) ||
        a.bucket - b.bucket,
    );
}

const COUNT_COLUMNS = ['issue_id', 'metric', 'dim', 'bucket', 'n'];
const COUNT_UPSERT_TAIL =
  ' on conflict ("issue_id", "metric", "dim", "bucket") do update set "n" = "report_counts"."n" + excluded."n"';

/**
 * PostgreSQL: the deltas as one `write` step of a statement plan (sent with the batch's other
 * writes), the rows as one array a column: one text whatever their number, kept prepared.
 */
export function* reportCountWrites(deltas: CountDeltas): Generator<Step, void, unknown> {
  const rows = sortedCountRows(deltas);
  if (rows.length === 0) return;
  const columns: unknown[][] = [[], [], [], [], []];
  for (const r of rows) {
    columns[0]!.push(r.issue_id);
    columns[1]!.push(r.metric);
    columns[2]!.push(r.dim);
    columns[3]!.push(r.bucket);
    columns[4]!.push(r.n);
  }
  yield { write: COUNT_UPSERT_UNNEST, params: columns, prepared: true };
}

// unnest keeps the arrays' order: the rows are upserted (their row locks taken) in key order.
const COUNT_UPSERT_UNNEST = `insert into "report_counts" (${COUNT_COLUMNS.map((c) => `"${c}"`).join(', ')}) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])${COUNT_UPSERT_TAIL}`;

export async function addReportCounts(db: Db, deltas: CountDeltas): Promise<void> {
  const rows = sortedCountRows(deltas);
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('report_counts')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc.columns(['issue_id', 'metric', 'dim', 'bucket']).doUpdateSet({ n: sql`report_counts.n + excluded.n` }),
      )
      .execute();
  }
}

const addCounts = sqliteMultiInsert('report_counts', COUNT_COLUMNS, COUNT_UPSERT_TAIL.trim());

/** SQLite: a batch's deltas in one multi-row upsert (each key appears once: CountDeltas merges them). */
export function addReportCountsSqlite(sqlite: BetterSqlite3.Database, deltas: CountDeltas): void {
  const values: unknown[] = [];
  for (const r of deltas.rows()) values.push(r.issue_id, r.metric, r.dim, r.bucket, r.n);
  addCounts(sqlite).run(values);
}
