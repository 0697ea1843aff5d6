import { sql, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

type Db = DB | Transaction<Database>;

/** Plain metrics are counted per 15 minutes: every real UTC offset is a multiple of it. */
export const QUARTER_MS = 15 * 60_000;
/** Per-page and per-source metrics are counted per hour. */
export const HOUR_MS = 60 * 60_000;
/** Issue id of site-wide counts. */
export const SITE = 0;

export const quarterOf = (at: number): number => at - (((at % QUARTER_MS) + QUARTER_MS) % QUARTER_MS);
export const hourOf = (at: number): number => at - (((at % HOUR_MS) + HOUR_MS) % HOUR_MS);

/**
 * Changes to the maintained counts collected while a batch is written, summed per key so each
 * key is one upsert (PostgreSQL refuses to update the same row twice in one statement).
 */
export class CountDeltas {
  readonly #byKey = new Map<string, { issueId: number; metric: string; dim: string; bucket: number; n: number }>();

  add(issueId: number, metric: string, dim: string, bucket: number, n = 1): void {
    const key = `${issueId}\u0000${metric}\u0000${dim}\u0000${bucket}`;
    const found = this.#byKey.get(key);
    if (found) found.n += n;
    else this.#byKey.set(key, { issueId, metric, dim, bucket, n });
  }

  /** A plain metric at `at` (15-minute bucket). */
  at(issueId: number, metric: string, at: number, n = 1): void {
    this.add(issueId, metric, '', quarterOf(at), n);
  }

  get size(): number {
    return this.#byKey.size;
  }

  rows(): { issue_id: number; metric: string; dim: string; bucket: number; n: number }[] {
    const rows = [];
    for (const d of this.#byKey.values()) if (d.n !== 0) rows.push({ issue_id: d.issueId, metric: d.metric, dim: d.dim, bucket: d.bucket, n: d.n });
    return rows;
  }
}

const CHUNK = 500;

export async function addReportCounts(db: Db, deltas: CountDeltas): Promise<void> {
  const rows = deltas.rows();
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('report_counts')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(['issue_id', 'metric', 'dim', 'bucket']).doUpdateSet({ n: sql`report_counts.n + excluded.n` }))
      .execute();
  }
}

const UPSERT_SQLITE = 'insert into "report_counts" ("issue_id", "metric", "dim", "bucket", "n") values (?, ?, ?, ?, ?) on conflict ("issue_id", "metric", "dim", "bucket") do update set "n" = "report_counts"."n" + excluded."n"';
const upserts = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();

export function addReportCountsSqlite(sqlite: BetterSqlite3.Database, deltas: CountDeltas): void {
  let upsert = upserts.get(sqlite);
  if (!upsert) upserts.set(sqlite, (upsert = sqlite.prepare(UPSERT_SQLITE)));
  for (const r of deltas.rows()) upsert.run(r.issue_id, r.metric, r.dim, r.bucket, r.n);
}

export interface CountFilter {
  issueIds: readonly number[];
  metrics: readonly string[];
  /** Bucket range [from, to). */
  from?: number;
  to?: number;
}

/** Totals per issue and metric (plain metrics, dim ''). */
export async function sumCountsByIssue(db: Db, filter: CountFilter): Promise<{ issueId: number; metric: string; n: number }[]> {
  if (filter.issueIds.length === 0 || filter.metrics.length === 0) return [];
  let query = db
    .selectFrom('report_counts')
    .select(['issue_id', 'metric', (eb) => eb.fn.sum<number>('n').as('n')])
    .where('issue_id', 'in', filter.issueIds)
    .where('metric', 'in', filter.metrics)
    .where('dim', '=', '');
  if (filter.from !== undefined) query = query.where('bucket', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('bucket', '<', filter.to);
  const rows = await query.groupBy(['issue_id', 'metric']).execute();
  return rows.map((r) => ({ issueId: Number(r.issue_id), metric: r.metric, n: Number(r.n) }));
}

/** The buckets of plain metrics for one issue (or the site) in [from, to). */
export async function findCountBuckets(db: Db, issueId: number, metrics: readonly string[], from: number, to: number): Promise<{ metric: string; bucket: number; n: number }[]> {
  if (metrics.length === 0) return [];
  const rows = await db
    .selectFrom('report_counts')
    .select(['metric', 'bucket', 'n'])
    .where('issue_id', '=', issueId)
    .where('metric', 'in', metrics)
    .where('dim', '=', '')
    .where('bucket', '>=', from)
    .where('bucket', '<', to)
    .orderBy('bucket')
    .execute();
  return rows.map((r) => ({ metric: r.metric, bucket: Number(r.bucket), n: Number(r.n) }));
}

/** Totals per dimension of one metric (links, pages, sources) in [from, to), largest first. */
export async function sumCountsByDim(db: Db, issueId: number, metric: string, range: { from?: number; to?: number; limit?: number } = {}): Promise<{ dim: string; n: number }[]> {
  let query = db
    .selectFrom('report_counts')
    .select(['dim', (eb) => eb.fn.sum<number>('n').as('n')])
    .where('issue_id', '=', issueId)
    .where('metric', '=', metric);
  if (range.from !== undefined) query = query.where('bucket', '>=', range.from);
  if (range.to !== undefined) query = query.where('bucket', '<', range.to);
  query = query.groupBy('dim').orderBy(sql`sum(n)`, 'desc').orderBy('dim');
  if (range.limit !== undefined) query = query.limit(range.limit);
  const rows = await query.execute();
  return rows.map((r) => ({ dim: r.dim, n: Number(r.n) }));
}

/** The first bucket holding any of these metrics for the issue (or the site); undefined when none. */
export async function findFirstBucket(db: Db, issueId: number, metrics: readonly string[]): Promise<number | undefined> {
  const row = await db
    .selectFrom('report_counts')
    .select((eb) => eb.fn.min<number>('bucket').as('first'))
    .where('issue_id', '=', issueId)
    .where('metric', 'in', metrics)
    .where('dim', '=', '')
    .executeTakeFirst();
  return row?.first === null || row?.first === undefined ? undefined : Number(row.first);
}
