import { sql, type Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { QUARTER_MS } from '../counts/buckets.ts';

/**
 * The per-arm figures of an experiment, read from the deliveries ledger (never pruned; erasure
 * keeps the row and its arm, and only drops the person). Each delivery's first open, likely-human
 * open, human click and visit times live on its row and move when machine re-labelling moves
 * them, so a count of those columns per arm is the count of the raw hits behind them — at the
 * cost of one grouped read over the issue's deliveries, whatever the number of events.
 */
type Db = DB | Transaction<Database>;

export interface ExperimentRow {
  issueId: number;
  testShare: number;
  holdoutShare: number;
  waitMs: number;
  measure: 'human_clickers' | 'human_openers';
  state: string;
  winnerArm: string | null;
  decidedAt: number | null;
  decidedHow: string | null;
}

export async function findExperiment(db: Db, issueId: number): Promise<ExperimentRow | undefined> {
  const r = await db
    .selectFrom('experiments')
    .select([
      'issue_id',
      'test_share',
      'holdout_share',
      'wait_ms',
      'measure',
      'state',
      'winner_arm',
      'decided_at',
      'decided_how',
    ])
    .where('issue_id', '=', issueId)
    .executeTakeFirst();
  if (!r) return undefined;
  return {
    issueId: Number(r.issue_id),
    testShare: Number(r.test_share),
    holdoutShare: Number(r.holdout_share),
    waitMs: Number(r.wait_ms),
    measure: r.measure,
    state: r.state,
    winnerArm: r.winner_arm,
    decidedAt: r.decided_at === null ? null : Number(r.decided_at),
    decidedHow: r.decided_how,
  };
}

export interface ExperimentArmRow {
  arm: string;
  subject: string | null;
  preheader: string | null;
}

export async function findExperimentArms(db: Db, issueId: number): Promise<ExperimentArmRow[]> {
  return db
    .selectFrom('experiment_arms')
    .select(['arm', 'subject', 'preheader'])
    .where('issue_id', '=', issueId)
    .execute();
}

export interface ArmTotals {
  arm: string;
  /** Ledger rows in the arm (held out included). */
  size: number;
  delivered: number;
  openers: number;
  humanOpeners: number;
  clickers: number;
  visitors: number;
  /** When the arm's first message went out; null before any did (and for the held out). */
  firstSentAt: number | null;
}

export async function countDeliveriesByArm(db: Db, issueId: number): Promise<ArmTotals[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select((eb) => [
      'arm',
      eb.fn.countAll<number | string>().as('size'),
      eb.fn.sum<number | string | null>(eb.case().when('status', '=', 'sent').then(1).else(0).end()).as('delivered'),
      eb.fn.count<number | string>('first_any_open_at').as('openers'),
      eb.fn.count<number | string>('first_opened_at').as('human_openers'),
      eb.fn.count<number | string>('first_clicked_at').as('clickers'),
      eb.fn.count<number | string>('first_visit_at').as('visitors'),
      eb.fn.min<number | string | null>('sent_at').as('first_sent_at'),
    ])
    .where('issue_id', '=', issueId)
    .where('arm', 'is not', null)
    .groupBy('arm')
    .execute();
  return rows.map((r) => ({
    arm: r.arm!,
    size: Number(r.size),
    delivered: Number(r.delivered ?? 0),
    openers: Number(r.openers),
    humanOpeners: Number(r.human_openers),
    clickers: Number(r.clickers),
    visitors: Number(r.visitors),
    firstSentAt: r.first_sent_at === null ? null : Number(r.first_sent_at),
  }));
}

export type ArmCurveMeasure = 'human_open' | 'click' | 'visit';

/** Per arm and 15-minute bucket of the first time: likely-human openers, human clickers, recipients who visited. */
export async function findArmFirstBuckets(
  db: Db,
  issueId: number,
): Promise<{ arm: string; measure: ArmCurveMeasure; bucket: number; n: number }[]> {
  const part = (column: 'first_opened_at' | 'first_clicked_at' | 'first_visit_at', measure: ArmCurveMeasure) =>
    sql`select "arm", ${sql.lit(measure)} as "measure", ${sql.ref(column)} - (${sql.ref(column)} % ${sql.lit(QUARTER_MS)}) as "bucket", count(*) as "n"
      from "deliveries" where "issue_id" = ${issueId} and "arm" is not null and ${sql.ref(column)} is not null
      group by "arm", ${sql.ref(column)} - (${sql.ref(column)} % ${sql.lit(QUARTER_MS)})`;
  const { rows } = await sql<{ arm: string; measure: ArmCurveMeasure; bucket: number | string; n: number | string }>`
    ${part('first_opened_at', 'human_open')} union all ${part('first_clicked_at', 'click')} union all ${part('first_visit_at', 'visit')}`.execute(
    db,
  );
  return rows.map((r) => ({ arm: r.arm, measure: r.measure, bucket: Number(r.bucket), n: Number(r.n) }));
}

export interface ExperimentSummaryRow {
  issueId: number;
  holdoutShare: number;
  state: string;
  winnerArm: string | null;
  decidedHow: string | null;
  variants: number;
}

/** The experiments of several issues, with how many variants each tested (one query). */
export async function findExperimentSummaries(db: Db, issueIds: readonly number[]): Promise<ExperimentSummaryRow[]> {
  if (issueIds.length === 0) return [];
  const rows = await db
    .selectFrom('experiments as e')
    .leftJoin('experiment_arms as a', (join) =>
      join.onRef('a.issue_id', '=', 'e.issue_id').on('a.arm', 'in', ['A', 'B', 'C', 'D']),
    )
    .select((eb) => [
      'e.issue_id',
      'e.holdout_share',
      'e.state',
      'e.winner_arm',
      'e.decided_how',
      eb.fn.count<number | string>('a.arm').as('variants'),
    ])
    .where('e.issue_id', 'in', issueIds)
    .groupBy(['e.issue_id', 'e.holdout_share', 'e.state', 'e.winner_arm', 'e.decided_how'])
    .execute();
  return rows.map((r) => ({
    issueId: Number(r.issue_id),
    holdoutShare: Number(r.holdout_share),
    state: r.state,
    winnerArm: r.winner_arm,
    decidedHow: r.decided_how,
    variants: Number(r.variants),
  }));
}
