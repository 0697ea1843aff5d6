/**
 * "More than usual?" for a newsletter that goes out on the same weekday and hour every week
 * (issue 19, item 5). The lift (lift.ts) compares a send's hours with the same hours of earlier
 * weeks that no other send touched; when every earlier week had a send in those hours there is
 * no such week, and a comparison with them could not tell the send from the weekday anyway.
 * This says so, shows the holdout result when there is one, and offers the experiments that can
 * answer, each with the weeks it takes to see an effect of the size observed so far. Pure.
 *
 * Weeks needed, by design (normal approximation, α = 0.05 two-sided, 80 % power; K = (1.959964 +
 * 0.841621)² = 7.848880):
 *
 * - Skipped weeks or alternating send days. Unit: the window's site count of one week (visits in
 *   the 72 hours). Assumption: that count is Poisson around a steady level μ without a send and
 *   μ + Δ with one (no trend, no spread beyond Poisson: optimistic when weeks vary more). Δ, the
 *   effect observed so far, is the issue's own attributed visits in the window (people who came
 *   through its links; the send may add more); μ is the window's other visits. Half the weeks go
 *   without a send in the window (skip every other week, or alternate between two send days so
 *   each window is without a send every other week):
 *     weeks = 2 × ⌈K × (μ + Δ + μ) / Δ²⌉.
 * - Holdout. Unit: a person. Per-person rate of recipients p₁ = p₀ + d against the held out p₀;
 *   weeksNeeded (experiments/statistics.ts) with the audience split by the holdout share. With a
 *   holdout, d and p₀ are its result so far; without one, d is the share of delivered who visited
 *   through the issue and p₀ is taken as 0 (unknown until a holdout runs): a lower bound, said
 *   "at least".
 */
import { incrementalPer1000, weeksNeeded, Z_95, Z_POWER_80 } from '../experiments/statistics.ts';
import type { LiftResult } from './lift.ts';

const K = (Z_95 + Z_POWER_80) ** 2;

/** Weeks (half of them without a send in the window) to see Δ a week over a steady Poisson level μ; null for Δ ≤ 0. */
export function alternatingWeeksNeeded(level: number, effect: number): number | null {
  if (!(effect > 0) || !(level >= 0)) return null;
  return 2 * Math.max(1, Math.ceil((K * (level + effect + level)) / (effect * effect)));
}

export interface HoldoutOutcome {
  /** Recipients (sent to) with the outcome, of those identifiable. */
  treated: { successes: number; n: number };
  heldOut: { successes: number; n: number };
}

export interface CadenceInput {
  /** The visits lift of the send (72 hours): its excluded weeks tell whether every earlier week had a send. */
  lift: LiftResult;
  /** The issue's attributed visits (the effect observed so far, at most the window's visits). */
  attributedVisits: number;
  /** Delivered messages, and recipients who visited through the issue. */
  delivered: number;
  uniqueVisitors: number;
  /** The experiment's holdout result on visits, if it had one. */
  holdout: HoldoutOutcome | null;
  /** The holdout share to propose (default 0.1). */
  holdoutShare?: number;
}

export interface CadenceOption {
  key: 'holdout' | 'skipped_week' | 'alternate_days';
  text: string;
  weeks: number | null;
}

export interface CadenceAdvice {
  explanation: string;
  holdout: ({ difference: number; low: number; high: number } & { sentence: string }) | null;
  options: CadenceOption[];
}

/** True when no earlier week could serve and every one was skipped for another send. */
export function everyWeekHadASend(lift: LiftResult): boolean {
  return (
    lift.verdict === 'no-baseline' &&
    lift.weeksExcluded.length > 0 &&
    lift.weeksExcluded.every((w) => w.reason === 'another-send')
  );
}

const perThousand = (x: number) => {
  const r = Math.round(x * 10) / 10;
  const text = Math.abs(r).toLocaleString('en-GB', { maximumFractionDigits: 1 });
  return r < 0 ? `−${text}` : text;
};
const weeksText = (n: number | null, atLeast = false) =>
  n === null
    ? 'no estimate yet: nothing has come through the issue to size it'
    : `${atLeast ? 'at least ' : ''}${n} ${n === 1 ? 'week' : 'weeks'}`;

/** The advice, or null when the lift has a baseline (or lacks one for another reason, such as no data yet). */
export function regularCadenceAdvice(input: CadenceInput): CadenceAdvice | null {
  const { lift } = input;
  if (!everyWeekHadASend(lift)) return null;
  const share = input.holdoutShare ?? 0.1;
  const weeks = lift.weeksExcluded.length;
  const explanation =
    `Every one of the previous ${weeks === 1 ? 'week' : `${weeks} weeks`} had a newsletter in these hours, so there is no week without a send to compare with. ` +
    'Comparing with those weeks could not tell what this send added from what this weekday and hour bring anyway: every week had both.';

  let holdout: CadenceAdvice['holdout'] = null;
  if (input.holdout && input.holdout.heldOut.n > 0 && input.holdout.treated.n > 0) {
    const effect = incrementalPer1000(input.holdout.treated, input.holdout.heldOut);
    holdout = {
      ...effect,
      sentence: `Against the held-out group, the send brought ${perThousand(effect.difference)} more visitors per 1,000 recipients (${perThousand(effect.low)} to ${perThousand(effect.high)}).`,
    };
  }

  const effect = Math.min(input.attributedVisits, lift.observed);
  const level = Math.max(0, lift.observed - effect);
  const alternating = alternatingWeeksNeeded(level, effect);

  const h = input.holdout;
  const d = h
    ? h.treated.n > 0 && h.heldOut.n > 0
      ? h.treated.successes / h.treated.n - h.heldOut.successes / h.heldOut.n
      : 0
    : input.delivered > 0
      ? input.uniqueVisitors / input.delivered
      : 0;
  const p0 = h && h.heldOut.n > 0 ? h.heldOut.successes / h.heldOut.n : 0;
  const audience = input.delivered;
  const holdoutWeeks =
    d > 0
      ? weeksNeeded({
          baseline: p0,
          effect: d,
          treatedPerWeek: audience * (1 - share),
          comparisonPerWeek: audience * share,
        })
      : null;
  const pct = `${Math.round(share * 100)} %`;
  return {
    explanation,
    holdout,
    options: [
      {
        key: 'holdout',
        text: `Hold out ${pct} of the audience at random each week: they get nothing, and their visits are compared with the recipients’ (${weeksText(holdoutWeeks, !h)}).`,
        weeks: holdoutWeeks,
      },
      {
        key: 'skipped_week',
        text: `Skip the send every other week, so half the weeks are without it in these hours (${weeksText(alternating)}).`,
        weeks: alternating,
      },
      {
        key: 'alternate_days',
        text: `Alternate between two send days, so each day’s hours are without a send every other week (${weeksText(alternating)}).`,
        weeks: alternating,
      },
    ],
  };
}
