import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

/**
 * An experiment's rows and its arms' sizes from the deliveries ledger (never pruned; erasure keeps
 * the row and its arm). The arms' first times are maintained counts (counts/range-reads.ts).
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
  /** When the arm's first message went out; null before any did (and for the held out). */
  firstSentAt: number | null;
  /**
   * Deliveries with a later visit stored (`visits.is_later`, by the visit's delivery): the people
   * behind the later visits, as the "Recipients who came back later" list counts them.
   */
  laterVisitors: number;
}

/**
 * Per arm: its ledger rows, those delivered, when its first message went out, and its recipients
 * who came back later (a look-up per delivery on the visits' delivery index: the same cost however
 * many events).
 */
export async function countDeliveriesByArm(db: Db, issueId: number): Promise<ArmTotals[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select((eb) => [
      'arm',
      eb.fn.countAll<number | string>().as('size'),
      eb.fn.sum<number | string | null>(eb.case().when('status', '=', 'sent').then(1).else(0).end()).as('delivered'),
      eb.fn.min<number | string | null>('sent_at').as('first_sent_at'),
      eb.fn
        .sum<number | string | null>(
          eb
            .case()
            .when(
              eb.exists(
                eb
                  .selectFrom('visits')
                  .select(eb.lit(1).as('one'))
                  .whereRef('visits.delivery_id', '=', 'deliveries.id')
                  .where('visits.is_later', '=', 1),
              ),
            )
            .then(1)
            .else(0)
            .end(),
        )
        .as('later_visitors'),
    ])
    .where('issue_id', '=', issueId)
    .where('arm', 'is not', null)
    .groupBy('arm')
    .execute();
  return rows.map((r) => ({
    arm: r.arm!,
    size: Number(r.size),
    delivered: Number(r.delivered ?? 0),
    firstSentAt: r.first_sent_at === null ? null : Number(r.first_sent_at),
    laterVisitors: Number(r.later_visitors ?? 0),
  }));
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
