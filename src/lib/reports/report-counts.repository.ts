import { sql, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { sqliteMultiInsert } from '../events/sqlite-multi-row.ts';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { Step } from '../events/statement-plan.ts';

type Db = DB | Transaction<Database>;

/** Plain metrics are counted per 15 minutes: every real UTC offset is a multiple of it. */
export const QUARTER_MS = 15 * 60_000;
/** Per-page and per-source metrics are counted per hour. */
export const HOUR_MS = 60 * 60_000;
/** Issue id of site-wide counts. */
export const SITE = 0;

export const DAY_MS = 24 * HOUR_MS;
/** The site's visits, calls and walk-ins are also counted per minute (`metric~m`): the lift's windows start at the send's minute. */
export const MINUTE_MS = 60_000;

const floorTo = (at: number, size: number): number => at - (((at % size) + size) % size);
export const quarterOf = (at: number): number => floorTo(at, QUARTER_MS);
export const hourOf = (at: number): number => floorTo(at, HOUR_MS);
export const dayOf = (at: number): number => floorTo(at, DAY_MS);
export const minuteOf = (at: number): number => floorTo(at, MINUTE_MS);

/**
 * Each count is also kept at coarser grains, so a report's cost does not grow with how many
 * buckets its range holds: plain metrics per hour (`metric~h`), per UTC day (`metric~d`) and in
 * total (`metric~t`, bucket 0); per-page and per-source metrics per UTC day (`metric~d`).
 */
export const PER_HOUR = '~h';
export const PER_DAY = '~d';
export const TOTAL = '~t';
export const PER_MINUTE = '~m';

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

  add(issueId: number, metric: string, dim: string, bucket: number, n = 1): void {
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
  at(issueId: number, metric: string, at: number, n = 1): void {
    const quarter = quarterOf(at);
    let last = this.#lastByMetric.get(metric);
    if (last?.quarter !== quarter || last.issueId !== issueId) {
      const entries = [this.#entry(issueId, metric, '', quarter), this.#entry(issueId, metric + PER_HOUR, '', hourOf(at)), this.#entry(issueId, metric + PER_DAY, '', dayOf(at)), this.#entry(issueId, metric + TOTAL, '', 0)];
      this.#lastByMetric.set(metric, (last = { issueId, quarter, entries }));
    }
    for (const entry of last.entries) entry.n += n;
  }

  /** A plain metric at `at` in its minute bucket too (`metric~m`; the site's visits, calls and walk-ins, for the lift). */
  atToTheMinute(issueId: number, metric: string, at: number, n = 1): void {
    this.at(issueId, metric, at, n);
    this.add(issueId, metric + PER_MINUTE, '', minuteOf(at), n);
  }

  /** A per-page or per-source metric at `at`: its hour and day buckets. */
  dimAt(issueId: number, metric: string, dim: string, at: number, n = 1): void {
    this.add(issueId, metric, dim, hourOf(at), n);
    this.add(issueId, metric + PER_DAY, dim, dayOf(at), n);
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

/**
 * A batch's deltas in key order. PostgreSQL: concurrent transactions (two processes, or one
 * process's several writer transactions) upserting the same hot rows then lock them in one order
 * and wait for each other instead of deadlocking.
 */
export function sortedCountRows(deltas: CountDeltas): ReturnType<CountDeltas['rows']> {
  return deltas.rows().sort((a, b) => a.issue_id - b.issue_id || (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0) || (a.dim < b.dim ? -1 : a.dim > b.dim ? 1 : 0) || a.bucket - b.bucket);
}

const COUNT_COLUMNS = ['issue_id', 'metric', 'dim', 'bucket', 'n'];
const COUNT_UPSERT_TAIL = ' on conflict ("issue_id", "metric", "dim", "bucket") do update set "n" = "report_counts"."n" + excluded."n"';

/** The deltas as `write` steps of a statement plan (PostgreSQL: sent with the batch's other writes in one statement). */
export function* reportCountWrites(deltas: CountDeltas): Generator<Step, void, unknown> {
  const rows = sortedCountRows(deltas);
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const params: unknown[] = [];
    for (const r of chunk) params.push(r.issue_id, r.metric, r.dim, r.bucket, r.n);
    yield { write: countUpsertText(chunk.length), params };
  }
}

const countUpsertTexts: string[] = [];
const countUpsertText = (rows: number) =>
  (countUpsertTexts[rows] ??= `insert into "report_counts" (${COUNT_COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${new Array(rows).fill('(?, ?, ?, ?, ?)').join(', ')}${COUNT_UPSERT_TAIL}`);

export async function addReportCounts(db: Db, deltas: CountDeltas): Promise<void> {
  const rows = sortedCountRows(deltas);
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('report_counts')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(['issue_id', 'metric', 'dim', 'bucket']).doUpdateSet({ n: sql`report_counts.n + excluded.n` }))
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

/** All-time totals per issue and plain metric (the `~t` rows: one per issue and metric). */
export async function findTotals(db: Db, issueIds: readonly number[], metrics: readonly string[]): Promise<{ issueId: number; metric: string; n: number }[]> {
  if (issueIds.length === 0 || metrics.length === 0) return [];
  const rows = await db
    .selectFrom('report_counts')
    .select(['issue_id', 'metric', 'n'])
    .where('issue_id', 'in', issueIds)
    .where('metric', 'in', metrics.map((m) => m + TOTAL))
    .where('dim', '=', '')
    .execute();
  return rows.map((r) => ({ issueId: Number(r.issue_id), metric: r.metric.slice(0, -TOTAL.length), n: Number(r.n) }));
}

/** The buckets of plain metrics for one issue (or the site) in [from, to); `grain` '' for 15 minutes, PER_HOUR or PER_DAY. Metrics come back without the grain's suffix. */
export async function findCountBuckets(db: Db, issueId: number, metrics: readonly string[], from: number, to: number, grain: '' | typeof PER_HOUR | typeof PER_DAY = ''): Promise<{ metric: string; bucket: number; n: number }[]> {
  if (metrics.length === 0) return [];
  const rows = await db
    .selectFrom('report_counts')
    .select(['metric', 'bucket', 'n'])
    .where('issue_id', '=', issueId)
    .where('metric', 'in', metrics.map((m) => m + grain))
    .where('dim', '=', '')
    .where('bucket', '>=', from)
    .where('bucket', '<', to)
    .orderBy('bucket')
    .execute();
  return rows.map((r) => ({ metric: grain ? r.metric.slice(0, -grain.length) : r.metric, bucket: Number(r.bucket), n: Number(r.n) }));
}

/** Totals per dimension of a bucket-0 metric (per-link clicks and clickers). */
export async function findLinkTotals(db: Db, issueId: number, metric: string): Promise<{ dim: string; n: number }[]> {
  const rows = await db.selectFrom('report_counts').select(['dim', 'n']).where('issue_id', '=', issueId).where('metric', '=', metric).where('bucket', '=', 0).execute();
  return rows.map((r) => ({ dim: r.dim, n: Number(r.n) }));
}

/**
 * [from, to) as hour ranges at its edges and whole UTC days between: what a per-page or
 * per-source sum reads (ends are rounded down to the hour).
 */
export function splitByDays(from: number, to: number): { hours: [number, number][]; days: [number, number] | null } {
  const a = hourOf(from);
  const b = hourOf(to);
  const firstDay = dayOf(a) === a ? a : dayOf(a) + DAY_MS;
  const lastDay = dayOf(b);
  if (firstDay >= lastDay) return { hours: [[a, b]], days: null };
  return { hours: [[a, firstDay], [lastDay, b]].filter(([x, y]) => x! < y!) as [number, number][], days: [firstDay, lastDay] };
}

/** [from, to) (15-minute aligned) as 15-minute, hour and UTC-day pieces: the fewest rows that sum it. */
export function splitRange(from: number, to: number): { grain: '' | typeof PER_HOUR | typeof PER_DAY; from: number; to: number }[] {
  const pieces: { grain: '' | typeof PER_HOUR | typeof PER_DAY; from: number; to: number }[] = [];
  const up = (at: number, size: number) => (floorTo(at, size) === at ? at : floorTo(at, size) + size);
  const a = quarterOf(from);
  const b = quarterOf(to);
  if (a >= b) return pieces;
  const h0 = Math.min(up(a, HOUR_MS), b);
  const h1 = Math.max(hourOf(b), h0);
  const d0 = Math.min(up(h0, DAY_MS), h1);
  const d1 = Math.max(dayOf(h1), d0);
  const push = (grain: '' | typeof PER_HOUR | typeof PER_DAY, x: number, y: number) => x < y && pieces.push({ grain, from: x, to: y });
  push('', a, h0);
  push(PER_HOUR, h0, d0);
  push(PER_DAY, d0, d1);
  push(PER_HOUR, d1, h1);
  push('', h1, b);
  return pieces;
}

/**
 * Sums of plain metrics for one issue (or the site) over [from, to), read at the coarsest grains
 * that fit: one index range per metric and piece, joined with UNION ALL (an OR of ranges makes
 * SQLite scan every row of the issue).
 */
export async function sumInRange(db: Db, issueId: number, metrics: readonly string[], from: number, to: number): Promise<Map<string, number>> {
  const sums = new Map(metrics.map((m) => [m, 0]));
  const ranges = splitRange(from, to).flatMap((p) => metrics.map((m) => ({ metric: m + p.grain, from: p.from, to: p.to })));
  if (ranges.length === 0) return sums;
  const part = (r: (typeof ranges)[number]) =>
    db
      .selectFrom('report_counts')
      .select(['metric', (eb) => eb.fn.sum<number>('n').as('n')])
      .where('issue_id', '=', issueId)
      .where('metric', '=', r.metric)
      .where('dim', '=', '')
      .where('bucket', '>=', r.from)
      .where('bucket', '<', r.to)
      .groupBy('metric');
  let query = part(ranges[0]!);
  for (const r of ranges.slice(1)) query = query.unionAll(part(r));
  for (const r of await query.execute()) {
    const base = r.metric.replace(/~[hd]$/, '');
    sums.set(base, (sums.get(base) ?? 0) + Number(r.n ?? 0));
  }
  return sums;
}

/** One plain metric summed over each of several windows [from, to), in one statement (at most 90 windows). */
export async function sumWindows(db: Db, issueId: number, metric: string, windows: readonly (readonly [number, number])[]): Promise<number[]> {
  const parts = windows.flatMap(([from, to], k) => splitRange(from, to).map((p) => ({ k, metric: metric + p.grain, from: p.from, to: p.to })));
  const sums = windows.map(() => 0);
  if (parts.length === 0) return sums;
  const part = (p: (typeof parts)[number]) =>
    db
      .selectFrom('report_counts')
      .select([sql<number>`${sql.lit(p.k)}`.as('k'), (eb) => eb.fn.sum<number>('n').as('n')])
      .where('issue_id', '=', issueId)
      .where('metric', '=', p.metric)
      .where('dim', '=', '')
      .where('bucket', '>=', p.from)
      .where('bucket', '<', p.to);
  let query = part(parts[0]!);
  for (const p of parts.slice(1)) query = query.unionAll(part(p));
  for (const r of await query.execute()) sums[Number(r.k)]! += Number(r.n ?? 0);
  return sums;
}

/** One per-minute metric (`metric~m`) summed over each of several windows [from, to) of whole minutes, in one statement. */
export async function sumMinuteWindows(db: Db, issueId: number, metric: string, windows: readonly (readonly [number, number])[]): Promise<number[]> {
  const sums = windows.map(() => 0);
  if (windows.length === 0) return sums;
  const part = ([from, to]: readonly [number, number], k: number) =>
    db
      .selectFrom('report_counts')
      .select([sql<number>`${sql.lit(k)}`.as('k'), (eb) => eb.fn.sum<number>('n').as('n')])
      .where('issue_id', '=', issueId)
      .where('metric', '=', metric + PER_MINUTE)
      .where('dim', '=', '')
      .where('bucket', '>=', from)
      .where('bucket', '<', to);
  let query = part(windows[0]!, 0);
  windows.slice(1).forEach((w, i) => (query = query.unionAll(part(w, i + 1))));
  for (const r of await query.execute()) sums[Number(r.k)]! += Number(r.n ?? 0);
  return sums;
}

/** Totals per dimension of a per-page or per-source metric in [from, to), largest first. */
export async function sumCountsByDim(db: Db, issueId: number, metric: string, range: { from: number; to: number; limit?: number }): Promise<{ dim: string; n: number }[]> {
  const { hours, days } = splitByDays(range.from, range.to);
  const ranges = [...hours.map(([a, b]) => ({ metric, from: a, to: b })), ...(days ? [{ metric: metric + PER_DAY, from: days[0], to: days[1] }] : [])];
  if (ranges.length === 0) return [];
  // One index range per piece (see sumInRange), summed per dimension over their union.
  const part = (r: (typeof ranges)[number]) => db.selectFrom('report_counts').select(['dim', 'n']).where('issue_id', '=', issueId).where('metric', '=', r.metric).where('bucket', '>=', r.from).where('bucket', '<', r.to);
  let union = part(ranges[0]!);
  for (const r of ranges.slice(1)) union = union.unionAll(part(r));
  let query = db
    .selectFrom(union.as('pieces'))
    .select(['dim', (eb) => eb.fn.sum<number>('n').as('n')])
    .groupBy('dim')
    .orderBy(sql`sum(n)`, 'desc')
    .orderBy('dim');
  if (range.limit !== undefined) query = query.limit(range.limit);
  const rows = await query.execute();
  return rows.map((r) => ({ dim: r.dim, n: Number(r.n) }));
}

/** The first 15-minute bucket holding any of these metrics for the issue (or the site); undefined when none. */
export async function findFirstBucket(db: Db, issueId: number, metrics: readonly string[]): Promise<number | undefined> {
  let first: number | undefined;
  for (const metric of metrics) {
    // One metric at a time: min() over one index range is a single seek.
    const row = await db
      .selectFrom('report_counts')
      .select((eb) => eb.fn.min<number>('bucket').as('first'))
      .where('issue_id', '=', issueId)
      .where('metric', '=', metric)
      .where('dim', '=', '')
      .executeTakeFirst();
    if (row?.first !== null && row?.first !== undefined) first = Math.min(first ?? Infinity, Number(row.first));
  }
  return first;
}
