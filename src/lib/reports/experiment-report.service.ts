import type { DB } from '../db/database.ts';
import { HOUR_MS, hourOf, TOTAL } from '../counts/buckets.ts';
import { findArmCounts, findLinkTotals } from '../counts/range-reads.ts';
import type { ArmMetric } from '../counts/metrics.ts';
import {
  decideWinner,
  wilsonInterval,
  winnerComparisons,
  type Interval,
  type WinnerDecision,
} from '../experiments/statistics.ts';
import { cumulativeSteps, CURVE_HOURS, type CurveSeries, type IssueReport } from './issue-report.service.ts';
import {
  countDeliveriesByArm,
  findExperiment,
  findExperimentArms,
  type ArmTotals,
} from './experiment-report.repository.ts';
import { regularCadenceAdvice, type CadenceAdvice } from './regular-cadence.ts';
import { holdoutResultOf, loadArmOutcomes, type HoldoutResult } from './holdout-result.service.ts';

/**
 * An issue's experiment in figures (issue 19): per arm its size and each measure per delivered
 * with a 95 % Wilson interval — people where the measure is people (openers, clickers, visitors,
 * recipients who came back later, recipients who called), and the signups its recipients' links
 * brought; for an A/B test the best variant against each other (Newcombe, at the winner rule's z:
 * the comparisons decideWinner makes) and the winner sentence from the counts as they stand; curves by hours since each
 * arm's send; and, for a weekly newsletter without a clean earlier week, what can answer
 * "more than usual?". Definitions: definitions.ts (experimentArm, proportionInterval,
 * differenceInterval, abWinner, withinNoise, holdout, regularCadence).
 */

const VARIANTS = ['A', 'B', 'C', 'D'];
const ARM_ORDER = [...VARIANTS, 'rest', 'holdout'];

export const ARM_NAMES: Record<string, string> = {
  A: 'Variant A',
  B: 'Variant B',
  C: 'Variant C',
  D: 'Variant D',
  rest: 'The rest',
  holdout: 'Held out',
};

export interface ArmMeasure extends Interval {
  /** Deliveries of the arm (people, each once). */
  count: number;
  /** Of delivered; null with nothing delivered. */
  rate: number | null;
}

export interface ArmFigures {
  arm: string;
  name: string;
  subject: string | null;
  size: number;
  delivered: number;
  /** When the arm's sending started; null before (and for the held out). */
  sentAt: number | null;
  humanOpeners: ArmMeasure;
  clickers: ArmMeasure;
  visitors: ArmMeasure;
  /** Recipients with a later visit stored (people, from the stored visits: the "came back later" list). */
  laterVisitors: ArmMeasure;
  /** Later visits by the arm's recipients (visits, not people: the maintained count, beside laterVisitors). */
  laterVisits: number;
  /** Delivered recipients with a call matched to them (their phone number on file) within 7 days of the send's start (people). */
  callers: ArmMeasure;
  /** Calls matched to the arm's subscribers (by their phone number on file) within 7 days of the send's start (calls, not people). */
  callsMatched: number;
  /** Confirmed signups its recipients' links brought: their own click or a forward of it (the attribution cookie names the delivery). */
  signups: ArmMeasure;
  /** Running totals by hours since the hour of the arm's send, hourly for the first week. */
  curves: CurveSeries[];
}

export interface VariantDifference {
  /** The best variant on the winning measure. */
  arm: string;
  /** Another variant. */
  against: string;
  difference: number;
  low: number;
  high: number;
  /** The comparison the winner sentence quotes (the one whose interval comes closest to 0). */
  quoted: boolean;
}

export interface ExperimentReport {
  kind: 'ab' | 'holdout' | 'ab_holdout';
  state: string;
  measure: 'human_clickers' | 'human_openers';
  testShare: number;
  holdoutShare: number;
  waitMs: number;
  winnerArm: string | null;
  decidedAt: number | null;
  decidedHow: string | null;
  arms: ArmFigures[];
  /** The best variant against each other one on the winning measure, at the winner rule's confidence: every pair the rule looks at. */
  differences: VariantDifference[];
  /** The confidence of those intervals: 0.95 for two variants, 1 − 0.05/m for m pairs. */
  differenceConfidence: number | null;
  /** The winner rule on the counts as they stand (null without an A/B test). */
  decision: WinnerDecision | null;
  /** Recipients against the held out on per-person outcomes (holdout-result.service.ts); null without a holdout or before sending. */
  holdoutResult: HoldoutResult | null;
}

function measureOf(count: number, delivered: number): ArmMeasure {
  // A bounced message can keep a first open from before it bounced: the interval is of at most all delivered.
  const interval = wilsonInterval(Math.min(count, delivered), delivered);
  return { count, rate: delivered > 0 ? count / delivered : null, ...interval };
}

const SERIES: { metric: ArmMetric; key: string; name: string }[] = [
  { metric: 'arm.open_human', key: 'humanOpeners', name: 'Likely-human openers' },
  { metric: 'arm.click', key: 'clickers', name: 'Human clickers' },
  { metric: 'arm.visit', key: 'visitors', name: 'Recipients who visited' },
];

const WEEK_BY_HOUR = { stepMs: HOUR_MS, spanMs: CURVE_HOURS * HOUR_MS };

/** The experiment's figures, or undefined when the issue has none. */
export async function experimentReport(
  db: DB,
  issueId: number,
  options: { now?: number } = {},
): Promise<ExperimentReport | undefined> {
  const now = options.now ?? Date.now();
  const experiment = await findExperiment(db, issueId);
  if (!experiment) return undefined;
  const [armRows, totals, armCounts, later, signups, outcomes] = await Promise.all([
    findExperimentArms(db, issueId),
    countDeliveriesByArm(db, issueId),
    findArmCounts(
      db,
      issueId,
      SERIES.map((s) => s.metric),
    ),
    findLinkTotals(db, issueId, 'arm.visit_later'),
    findLinkTotals(db, issueId, 'arm.signup'),
    loadArmOutcomes(db, issueId),
  ]);
  const outcomesOf = new Map((outcomes?.rows ?? []).map((r) => [r.arm, r]));
  const laterByArm = new Map(later.map((r) => [r.dim, r.n]));
  const signupsByArm = new Map(signups.map((r) => [r.dim, r.n]));
  const totalOf = (metric: ArmMetric, arm: string) =>
    armCounts.filter((c) => c.metric === metric + TOTAL && c.dim === arm).reduce((n, c) => n + c.n, 0);
  const keys = [...new Set([...armRows.map((a) => a.arm), ...totals.map((t) => t.arm)])].sort(
    (a, b) => rank(a) - rank(b),
  );
  const byArm = new Map(totals.map((t) => [t.arm, t]));
  const subjects = new Map(armRows.map((a) => [a.arm, a.subject]));
  const empty = (arm: string): ArmTotals => ({ arm, size: 0, delivered: 0, firstSentAt: null, laterVisitors: 0 });

  const arms: ArmFigures[] = keys.map((arm) => {
    const t = byArm.get(arm) ?? empty(arm);
    // Hour buckets: the curves count from the hour in which the arm's sending started.
    const from = t.firstSentAt === null ? null : hourOf(t.firstSentAt);
    return {
      arm,
      name: ARM_NAMES[arm] ?? arm,
      subject: subjects.get(arm) ?? null,
      size: t.size,
      delivered: t.delivered,
      sentAt: t.firstSentAt,
      humanOpeners: measureOf(totalOf('arm.open_human', arm), t.delivered),
      clickers: measureOf(totalOf('arm.click', arm), t.delivered),
      visitors: measureOf(totalOf('arm.visit', arm), t.delivered),
      laterVisitors: measureOf(t.laterVisitors, t.delivered),
      laterVisits: laterByArm.get(arm) ?? 0,
      callers: measureOf(outcomesOf.get(arm)?.callers ?? 0, t.delivered),
      callsMatched: outcomesOf.get(arm)?.calls ?? 0,
      signups: measureOf(signupsByArm.get(arm) ?? 0, t.delivered),
      curves:
        from === null
          ? []
          : SERIES.map((s) => ({
              key: s.key,
              name: s.name,
              points: cumulativeSteps(
                armCounts.filter((c) => c.metric === s.metric && c.dim === arm),
                from,
                WEEK_BY_HOUR,
                now,
              ),
            })),
    };
  });

  const variants = arms.filter((a) => VARIANTS.includes(a.arm));
  const success = (a: ArmFigures) =>
    Math.min(experiment.measure === 'human_openers' ? a.humanOpeners.count : a.clickers.count, a.delivered);
  const counts = variants.map((a) => ({ key: a.arm, successes: success(a), n: a.delivered }));
  const compared = variants.length >= 2 ? winnerComparisons(counts) : null;
  const decision = variants.length >= 2 ? decideWinner(counts, { measure: experiment.measure }) : null;
  const differences = (compared?.pairs ?? []).map((p) => ({ ...p, quoted: p === compared!.decisive }));
  const pairs = (variants.length * (variants.length - 1)) / 2;
  const hasHoldout = keys.includes('holdout') || experiment.holdoutShare > 0;
  return {
    kind: variants.length >= 2 ? (hasHoldout ? 'ab_holdout' : 'ab') : 'holdout',
    state: experiment.state,
    measure: experiment.measure,
    testShare: experiment.testShare,
    holdoutShare: experiment.holdoutShare,
    waitMs: experiment.waitMs,
    winnerArm: experiment.winnerArm,
    decidedAt: experiment.decidedAt,
    decidedHow: experiment.decidedHow,
    arms,
    differences,
    differenceConfidence: compared === null ? null : pairs <= 1 ? 0.95 : 1 - 0.05 / pairs,
    decision,
    holdoutResult: holdoutResultOf(outcomes, now),
  };
}

function rank(arm: string): number {
  const i = ARM_ORDER.indexOf(arm);
  return i < 0 ? ARM_ORDER.length : i;
}

/**
 * "More than usual?" for a weekly newsletter: the advice when every earlier week had a send in
 * the visits lift's 72 hours (null otherwise).
 */
export function cadenceAdviceFor(report: IssueReport, experiment?: ExperimentReport | null): CadenceAdvice | null {
  const visits = report.lift.find((l) => l.metric === 'visit');
  if (!visits) return null;
  return regularCadenceAdvice({
    lift: visits.h72,
    attributedVisits: report.issue.attributedVisits,
    delivered: report.issue.delivered,
    uniqueVisitors: report.issue.uniqueVisitors,
    holdout: holdoutVisits(experiment?.holdoutResult ?? null),
    holdoutShare: experiment && experiment.holdoutShare > 0 ? experiment.holdoutShare : undefined,
  });
}

/** The holdout result on visits, as the cadence advice takes it (null without one). */
function holdoutVisits(result: HoldoutResult | null) {
  if (!result) return null;
  const { treated, heldOut } = result.visits;
  return {
    treated: { successes: treated.people, n: treated.identifiable },
    heldOut: { successes: heldOut.people, n: heldOut.identifiable },
  };
}
