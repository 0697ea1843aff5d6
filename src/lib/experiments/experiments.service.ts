import type { DB } from '../db/database.ts';
import type { ExperimentDecidedHow, ExperimentMeasure, ExperimentState } from '../db/schema.ts';
import { fail, ok, type Outcome } from '../outcome.ts';
import { VARIANT_KEYS, type ArmKey } from './experiment.ts';
import {
  changeExperimentState,
  countArmStatuses,
  countVariantOutcomes,
  findArms,
  findExperiment,
  findOpenExperiments,
  releaseRest,
  restPending,
  skipRest,
  variantsPending,
} from './experiments.repository.ts';
import { decideWinner, type ArmCount, type WinnerDecision } from './statistics.ts';

const isVariant = (arm: string | null): arm is string =>
  arm !== null && (VARIANT_KEYS as readonly string[]).includes(arm);

/** Why the rest of a stopped experiment got nothing (their ledger rows are skipped with it). */
export const STOPPED_REASON = 'experiment stopped';

/**
 * Records a winner and releases the rest to it, in one transaction: the rest's deliveries
 * become due now and go out through the send worker with the winner's subject, preheader and
 * body. Only from `testing` or `waiting`, so two workers (or a marketer and a worker) at once
 * decide once. False when the experiment was decided or stopped already.
 */
async function recordWinner(
  db: DB,
  issueId: number,
  winner: string,
  how: ExperimentDecidedHow,
  now: number,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const moved = await changeExperimentState(trx, issueId, ['testing', 'waiting'], 'sending_winner', {
      winner_arm: winner,
      decided_at: now,
      decided_how: how,
    });
    if (moved) await releaseRest(trx, issueId, now);
    return moved;
  });
}

/** The decision as of now, from the ledger: likely-human clickers (or openers) per delivered, per variant. */
export async function currentDecision(
  db: DB,
  issueId: number,
  measure: ExperimentMeasure,
): Promise<{ arms: ArmCount[]; decision: WinnerDecision }> {
  const variants = (await findArms(db, issueId))
    .map((a) => a.arm)
    .filter(isVariant)
    .sort();
  const counts = new Map((await countVariantOutcomes(db, issueId, measure)).map((c) => [c.arm, c]));
  const arms = variants.map((key) => ({ key, successes: counts.get(key)?.successes ?? 0, n: counts.get(key)?.n ?? 0 }));
  return { arms, decision: decideWinner(arms, { measure }) };
}

/**
 * The worker's experiment chore (like the weekly digest: `now` passed in, safe with several
 * workers): a test whose variants are all sent waits; a test whose wait ended (the send's
 * start + wait) and whose variant messages have all settled (or whose second wait ended) is decided with decideWinner and its winner released to the rest; an
 * experiment whose last message went is finished. Answers what it decided.
 */
/** The decision waits for queued variant messages at most this many waits after the send's start. */
export const MAX_WAIT_FACTOR = 2;

export async function runExperimentChore(
  db: DB,
  now: number,
): Promise<{ issueId: number; winner: string; how: ExperimentDecidedHow }[]> {
  const decided: { issueId: number; winner: string; how: ExperimentDecidedHow }[] = [];
  for (const experiment of await findOpenExperiments(db)) {
    const issueId = Number(experiment.issue_id);
    const ab = Number(experiment.test_share) > 0;
    if (experiment.state === 'sending_winner' || !ab) {
      if (!(await restPending(db, issueId)) && !(await variantsPending(db, issueId)))
        await changeExperimentState(db, issueId, [experiment.state], 'finished');
      continue;
    }
    const started = Number(experiment.started_at);
    const wait = Number(experiment.wait_ms);
    if (now >= started + wait) {
      // A variant with messages still queued is not judged yet: the decision waits until every variant
      // message is sent, failed or bounced — at most until MAX_WAIT_FACTOR waits, then it is made on what is there.
      if (now < started + MAX_WAIT_FACTOR * wait && (await variantsPending(db, issueId))) continue;
      const { decision } = await currentDecision(db, issueId, experiment.measure);
      const how = decision.kind === 'winner' ? 'auto' : 'within_noise';
      if (await recordWinner(db, issueId, decision.key, how, now)) decided.push({ issueId, winner: decision.key, how });
      continue;
    }
    if (experiment.state === 'testing' && !(await variantsPending(db, issueId)))
      await changeExperimentState(db, issueId, ['testing'], 'waiting');
  }
  return decided;
}

async function openTest(db: DB, issueId: number) {
  const experiment = await findExperiment(db, issueId);
  if (!experiment || Number(experiment.test_share) === 0)
    return fail('not-found', 'This issue has no A/B test.', { field: 'arm' });
  if (experiment.state !== 'testing' && experiment.state !== 'waiting')
    return fail(
      'conflict',
      experiment.state === 'stopped'
        ? 'The A/B test was stopped: the rest get nothing.'
        : `The winner was chosen already (variant ${experiment.winner_arm}).`,
    );
  return ok(experiment);
}

/** The marketer picks the winner before the wait ends: it goes to the rest now. */
export async function pickWinner(db: DB, issueId: number, arm: string, now = Date.now()): Promise<Outcome<null>> {
  const open = await openTest(db, issueId);
  if (!open.ok) return open;
  const variants = (await findArms(db, issueId)).map((a) => a.arm).filter(isVariant);
  if (!variants.includes(arm))
    return fail('invalid', `Choose one of the variants: ${variants.sort().join(', ')}.`, { field: 'arm' });
  if (!(await recordWinner(db, issueId, arm, 'picked', now)))
    return fail('conflict', 'The winner was chosen meanwhile: see the progress.');
  return ok(null);
}

/** The marketer stops the test: the variants sent stay sent, the rest get nothing (skipped), for good. */
export async function stopExperiment(db: DB, issueId: number, now = Date.now()): Promise<Outcome<{ skipped: number }>> {
  const open = await openTest(db, issueId);
  if (!open.ok) return open;
  const skipped = await db.transaction().execute(async (trx) => {
    const moved = await changeExperimentState(trx, issueId, ['testing', 'waiting'], 'stopped', {
      decided_at: now,
      decided_how: 'stopped',
    });
    return moved ? await skipRest(trx, issueId, STOPPED_REASON) : undefined;
  });
  if (skipped === undefined) return fail('conflict', 'The winner was chosen meanwhile: see the progress.');
  return ok({ skipped });
}

export interface ArmProgress {
  key: ArmKey;
  subject: string | null;
  preheader: string | null;
  ownBody: boolean;
  /** Ledger rows in the arm (null before the audience is frozen). */
  size: number | null;
  sent: number;
  /** Queued (the rest: waiting for the winner) or being sent. */
  pending: number;
  skipped: number;
}

export interface ExperimentProgress {
  state: ExperimentState;
  testShare: number;
  holdoutShare: number;
  waitMs: number;
  measure: ExperimentMeasure;
  /** When the wait ends (the send's start + wait); null before the send started or without a test. */
  waitEndsAt: number | null;
  winner: string | null;
  decidedAt: number | null;
  decidedHow: ExperimentDecidedHow | null;
  arms: ArmProgress[];
}

const ARM_ORDER: readonly string[] = [...VARIANT_KEYS, 'rest', 'holdout'];

/** An issue's experiment as the progress page and API show it: its state, arms and their ledger counts. */
export async function getExperimentProgress(
  db: DB,
  issueId: number,
  startedAt: number | null,
): Promise<ExperimentProgress | null> {
  const experiment = await findExperiment(db, issueId);
  if (!experiment) return null;
  const [arms, statuses] = await Promise.all([findArms(db, issueId), countArmStatuses(db, issueId)]);
  const count = (arm: string, match: (status: string) => boolean) =>
    statuses.filter((s) => s.arm === arm && match(s.status)).reduce((sum, s) => sum + s.n, 0);
  const waitMs = Number(experiment.wait_ms);
  return {
    state: experiment.state,
    testShare: Number(experiment.test_share),
    holdoutShare: Number(experiment.holdout_share),
    waitMs,
    measure: experiment.measure,
    waitEndsAt: startedAt !== null && waitMs > 0 ? startedAt + waitMs : null,
    winner: experiment.winner_arm,
    decidedAt: experiment.decided_at === null ? null : Number(experiment.decided_at),
    decidedHow: experiment.decided_how,
    arms: arms
      .sort((a, b) => ARM_ORDER.indexOf(a.arm) - ARM_ORDER.indexOf(b.arm))
      .map((a) => ({
        key: a.arm as ArmKey,
        subject: a.subject,
        preheader: a.preheader,
        ownBody: a.body_markdown !== null,
        size: a.size === null ? null : Number(a.size),
        sent: count(a.arm, (s) => s === 'sent' || s === 'bounced'),
        pending: count(a.arm, (s) => s === 'queued' || s === 'sending'),
        skipped: count(a.arm, (s) => s === 'skipped' || s === 'failed'),
      })),
  };
}

/** The progress JSON's `experiment` (snake_case, times epoch ms). */
export function experimentJson(progress: ExperimentProgress | null) {
  if (!progress) return null;
  return {
    state: progress.state,
    test_share: progress.testShare,
    holdout_share: progress.holdoutShare,
    wait_ms: progress.waitMs,
    measure: progress.measure,
    wait_ends_at: progress.waitEndsAt,
    winner_arm: progress.winner,
    decided_at: progress.decidedAt,
    decided_how: progress.decidedHow,
    arms: progress.arms.map((a) => ({
      arm: a.key,
      subject: a.subject,
      preheader: a.preheader,
      own_body: a.ownBody,
      size: a.size,
      sent: a.sent,
      pending: a.pending,
      skipped: a.skipped,
    })),
  };
}
