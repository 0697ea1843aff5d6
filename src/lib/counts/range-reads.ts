import { sql, type Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { PER_DAY, PER_MINUTE, splitByDays, splitRange, TOTAL, type Grain } from './buckets.ts';
import type { ArmMetric, DimMetric, MinuteMetric, PlainMetric, TotalByDimMetric } from './metrics.ts';

type Db = DB | Transaction<Database>;

/** All-time totals per issue and plain metric (the `~t` rows: one per issue and metric). */
export async function findTotals(
  db: Db,
  issueIds: readonly number[],
  metrics: readonly PlainMetric[],
): Promise<{ issueId: number; metric: PlainMetric; n: number }[]> {
  if (issueIds.length === 0 || metrics.length === 0) return [];
  const rows = await db
    .selectFrom('report_counts')
    .select(['issue_id', 'metric', 'n'])
    .where('issue_id', 'in', issueIds)
    .where(
      'metric',
      'in',
      metrics.map((m) => m + TOTAL),
    )
    .where('dim', '=', '')
    .execute();
  return rows.map((r) => ({
    issueId: Number(r.issue_id),
    metric: r.metric.slice(0, -TOTAL.length) as PlainMetric,
    n: Number(r.n),
  }));
}

/** The buckets of plain metrics for one issue (or the site) in [from, to); `grain` '' for 15 minutes, PER_HOUR or PER_DAY. Metrics come back without the grain's suffix. */
export async function findCountBuckets(
  db: Db,
  issueId: number,
  metrics: readonly PlainMetric[],
  from: number,
  to: number,
  grain: Grain = '',
): Promise<{ metric: PlainMetric; bucket: number; n: number }[]> {
  if (metrics.length === 0) return [];
  const rows = await db
    .selectFrom('report_counts')
    .select(['metric', 'bucket', 'n'])
    .where('issue_id', '=', issueId)
    .where(
      'metric',
      'in',
      metrics.map((m) => m + grain),
    )
    .where('dim', '=', '')
    .where('bucket', '>=', from)
    .where('bucket', '<', to)
    .orderBy('bucket')
    .execute();
  return rows.map((r) => ({
    metric: (grain ? r.metric.slice(0, -grain.length) : r.metric) as PlainMetric,
    bucket: Number(r.bucket),
    n: Number(r.n),
  }));
}

/** Totals per dimension of a bucket-0 metric (per-link clicks and clickers). */
export async function findLinkTotals(
  db: Db,
  issueId: number,
  metric: TotalByDimMetric,
): Promise<{ dim: string; n: number }[]> {
  const rows = await db
    .selectFrom('report_counts')
    .select(['dim', 'n'])
    .where('issue_id', '=', issueId)
    .where('metric', '=', metric)
    .where('bucket', '=', 0)
    .execute();
  return rows.map((r) => ({ dim: r.dim, n: Number(r.n) }));
}

/**
 * Sums of plain metrics for one issue (or the site) over [from, to), read at the coarsest grains
 * that fit: one index range per metric and piece, joined with UNION ALL (an OR of ranges makes
 * SQLite scan every row of the issue).
 */
export async function sumInRange(
  db: Db,
  issueId: number,
  metrics: readonly PlainMetric[],
  from: number,
  to: number,
): Promise<Map<PlainMetric, number>> {
  const sums = new Map(metrics.map((m) => [m, 0]));
  const ranges = splitRange(from, to).flatMap((p) =>
    metrics.map((m) => ({ metric: m + p.grain, from: p.from, to: p.to })),
  );
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
    const base = r.metric.replace(/~[hd]$/, '') as PlainMetric;
    sums.set(base, (sums.get(base) ?? 0) + Number(r.n ?? 0));
  }
  return sums;
}

/** One plain metric summed over each of several windows [from, to), in one statement (at most 90 windows). */
export async function sumWindows(
  db: Db,
  issueId: number,
  metric: PlainMetric,
  windows: readonly (readonly [number, number])[],
): Promise<number[]> {
  const parts = windows.flatMap(([from, to], k) =>
    splitRange(from, to).map((p) => ({ k, metric: metric + p.grain, from: p.from, to: p.to })),
  );
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
export async function sumMinuteWindows(
  db: Db,
  issueId: number,
  metric: MinuteMetric,
  windows: readonly (readonly [number, number])[],
): Promise<number[]> {
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
export async function sumCountsByDim(
  db: Db,
  issueId: number,
  metric: DimMetric,
  range: { from: number; to: number; limit?: number },
): Promise<{ dim: string; n: number }[]> {
  const { hours, days } = splitByDays(range.from, range.to);
  const ranges = [
    ...hours.map(([a, b]) => ({ metric, from: a, to: b })),
    ...(days ? [{ metric: metric + PER_DAY, from: days[0], to: days[1] }] : []),
  ];
  if (ranges.length === 0) return [];
  // One index range per piece (see sumInRange), summed per dimension over their union.
  const part = (r: (typeof ranges)[number]) =>
    db
      .selectFrom('report_counts')
      .select(['dim', 'n'])
      .where('issue_id', '=', issueId)
      .where('metric', '=', r.metric)
      .where('bucket', '>=', r.from)
      .where('bucket', '<', r.to);
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
export async function findFirstBucket(
  db: Db,
  issueId: number,
  metrics: readonly PlainMetric[],
): Promise<number | undefined> {
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

/** Every per-arm first-time count of an issue (issue 19): hour buckets and totals (`~t`, bucket 0), by arm. */
export async function findArmCounts(
  db: Db,
  issueId: number,
  metrics: readonly ArmMetric[],
): Promise<{ metric: string; dim: string; bucket: number; n: number }[]> {
  if (metrics.length === 0) return [];
  const rows = await db
    .selectFrom('report_counts')
    .select(['metric', 'dim', 'bucket', 'n'])
    .where('issue_id', '=', issueId)
    .where('metric', 'in', [...metrics, ...metrics.map((m) => m + TOTAL)])
    .execute();
  return rows.map((r) => ({ metric: r.metric, dim: r.dim, bucket: Number(r.bucket), n: Number(r.n) }));
}
