/**
 * The statistics of experiments on a send (issue 19): intervals for a proportion and for a
 * difference of two proportions, the rule that declares an A/B winner, the incremental effect
 * of a send against a randomised holdout, and how many weeks it takes to see an effect. Pure:
 * counts in, numbers and words out. Written down for marketers on the definitions page.
 *
 * Proportion (a rate per delivered, per recipient): the Wilson score interval, 95 % by default
 * (z = 1.959964). With p = x / n:
 *   centre = (p + z²/2n) / (1 + z²/n),  half width = z / (1 + z²/n) × √(p(1 − p)/n + z²/4n²).
 * It stays inside 0–1, is not empty at 0 or 100 % (0 of 10 → 0 to 27.8 %), and for n = 0 is the
 * whole range 0–1: nothing is known.
 *
 * Difference of two proportions pa − pb: Newcombe's hybrid score interval (method 10 of his 1998
 * paper), built from the two Wilson intervals (la, ua) and (lb, ub):
 *   low  = d − √((pa − la)² + (ub − pb)²),  high = d + √((ua − pa)² + (pb − lb)²).
 * When either side has n = 0 the difference is unknown: 0 with the interval −1 to 1 (−100 to 100
 * per 100).
 *
 * Winner (decideWinner): the best arm is the one with the highest rate (the earliest in variant
 * order on a tie; an arm with nothing delivered cannot be best). It wins when, for EVERY other
 * arm, the Newcombe interval of (best − other) lies wholly above 0. With k variants the intervals
 * are widened for the k(k − 1)/2 pairs that could have come out on top (Bonferroni): each is a
 * 1 − 0.05/m interval, m = k(k − 1)/2, so z = 1.960 for two variants, 2.394 for three and 2.638
 * for four; the chance of naming a winner that is not really better stays under 5 %.
 * Within noise: any other outcome, i.e. some other arm's interval against the best reaches 0 or
 * below (or an arm has nothing delivered yet). Then the FIRST variant goes out, because without
 * evidence the marketer's own first choice is as good as any. The sentence quotes the comparison
 * that decided: the best against the other arm whose interval comes closest to 0 (for two
 * variants simply the other).
 *
 * Incremental effect (incrementalPer1000): a per-person outcome (did this person visit, call…)
 * among recipients minus the same among the held out, × 1,000, with the Newcombe interval × 1,000.
 *
 * Weeks needed (weeksNeeded): normal approximation for two independent proportions, two-sided
 * α = 0.05 and 80 % power, unpooled variance:
 *   weeks = ⌈(1.959964 + 0.841621)² × (p₁(1 − p₁)/n₁ + p₀(1 − p₀)/n₀) / d²⌉
 * where p₀ is the comparison group's rate, d the effect (p₁ = p₀ + d), and n₁, n₀ the people one
 * week adds to each group. Assumption: every week adds independent people with the same rates
 * (repeat recipients make it optimistic).
 */

export interface Interval {
  low: number;
  high: number;
}

export interface ArmCount {
  key: string;
  successes: number;
  n: number;
}

export type WinnerDecision =
  { kind: 'winner'; key: string; sentence: string } | { kind: 'within_noise'; key: string; sentence: string };

/** The z of a two-sided 95 % interval. */
export const Z_95 = 1.959963984540054;
/** The z of 80 % power (one-sided 0.8 quantile). */
export const Z_POWER_80 = 0.8416212335729143;

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

function checkCount(successes: number, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a whole number ≥ 0, got ${n}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n)
    throw new RangeError(`successes must be a whole number from 0 to n (${n}), got ${successes}`);
}

/**
 * The standard normal quantile Φ⁻¹(p), 0 < p < 1 (Acklam's rational approximation, relative
 * error below 1.2 × 10⁻⁹): 0.975 → 1.959964.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be between 0 and 1, got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Wilson score interval for successes out of n (95 % by default). n = 0 → 0 to 1. */
export function wilsonInterval(successes: number, n: number, z: number = Z_95): Interval {
  checkCount(successes, n);
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return {
    low: successes === 0 ? 0 : clamp01(centre - half),
    high: successes === n ? 1 : clamp01(centre + half),
  };
}

/** Newcombe's hybrid score interval (method 10) for pa − pb. Either n = 0 → 0, −1 to 1. */
export function newcombeDifference(
  a: { successes: number; n: number },
  b: { successes: number; n: number },
  z: number = Z_95,
): { difference: number } & Interval {
  checkCount(a.successes, a.n);
  checkCount(b.successes, b.n);
  if (a.n === 0 || b.n === 0) return { difference: 0, low: -1, high: 1 };
  const pa = a.successes / a.n;
  const pb = b.successes / b.n;
  const wa = wilsonInterval(a.successes, a.n, z);
  const wb = wilsonInterval(b.successes, b.n, z);
  const difference = pa - pb;
  return {
    difference,
    low: Math.max(-1, difference - Math.hypot(pa - wa.low, wb.high - pb)),
    high: Math.min(1, difference + Math.hypot(wa.high - pa, pb - wb.low)),
  };
}

/** The z of each pairwise interval when k variants are compared: Φ⁻¹(1 − 0.05 / (2m)), m = k(k − 1)/2. */
export function winnerZ(k: number): number {
  if (k <= 2) return Z_95;
  const m = (k * (k - 1)) / 2;
  return normalQuantile(1 - 0.05 / (2 * m));
}

/** What the winning measure counts, in the sentence's words. */
export const MEASURE_NOUNS = {
  human_clickers: 'clickers',
  human_openers: 'likely-human openers',
} as const;

export interface DecideOptions {
  /** The winning measure (default likely-human clickers per delivered). */
  measure?: keyof typeof MEASURE_NOUNS;
}

/** 0.01234 → "1.2", −0.0017 → "−0.2" (per 100, one decimal, a minus sign, never "−0.0"). */
function per100(x: number): string {
  const rounded = Math.round(x * 1000) / 10;
  const text = Math.abs(rounded).toLocaleString('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return rounded < 0 ? `−${text}` : text;
}

const variant = (key: string) => `variant ${key}`;
const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export interface WinnerPair extends Interval {
  /** The best arm. */
  arm: string;
  /** The other arm it is compared with. */
  against: string;
  /** best − other, as a difference of rates. */
  difference: number;
}

/**
 * The comparisons the winner rule makes: the best arm (the highest rate; the earliest on a tie;
 * an arm with nothing delivered cannot be best unless no arm has anything delivered) against
 * every other arm, each a Newcombe interval at the rule's z (winnerZ), in the arms' order; and
 * the one that decides (the sentence quotes it): the pair whose interval comes closest to 0 —
 * none while an arm has nothing delivered.
 */
export function winnerComparisons(arms: ArmCount[]): {
  best: ArmCount;
  z: number;
  pairs: WinnerPair[];
  decisive: WinnerPair | null;
} {
  if (arms.length < 2) throw new RangeError(`an A/B test needs at least two arms, got ${arms.length}`);
  let best = arms.find((arm) => arm.n > 0) ?? arms[0]!;
  for (const arm of arms) if (arm.n > 0 && arm.successes / arm.n > best.successes / best.n) best = arm;
  const z = winnerZ(arms.length);
  const pairs = arms
    .filter((arm) => arm !== best)
    .map((arm) => ({ arm: best.key, against: arm.key, ...newcombeDifference(best, arm, z) }));
  const decisive = arms.some((arm) => arm.n === 0) ? null : pairs.reduce((a, b) => (b.low < a.low ? b : a));
  return { best, z, pairs, decisive };
}

/**
 * Declares the winner of an A/B test, or says the difference is within noise (then the first
 * arm goes out). `arms` in variant order, at least two.
 */
export function decideWinner(arms: ArmCount[], options: DecideOptions = {}): WinnerDecision {
  if (arms.length < 2) throw new RangeError(`an A/B test needs at least two arms, got ${arms.length}`);
  for (const arm of arms) checkCount(arm.successes, arm.n);
  const noun = MEASURE_NOUNS[options.measure ?? 'human_clickers'];
  const first = arms[0]!;
  const fallback = `so ${variant(first.key)}, the first, goes to the rest.`;

  const empty = arms.filter((arm) => arm.n === 0);
  if (empty.length > 0) {
    const names = empty.map((arm) => variant(arm.key)).join(', ');
    return {
      kind: 'within_noise',
      key: first.key,
      sentence: `Not every variant has been delivered yet (nothing delivered to ${names}): within noise, ${fallback}`,
    };
  }

  const { best, decisive } = winnerComparisons(arms);
  const decided = decisive!;
  const range = `(${per100(decided.low)} to ${per100(decided.high)})`;
  const rival = arms.length === 2 ? '' : ` than ${variant(decided.against)}, the closest of the others`;

  if (decided.low > 0) {
    return {
      kind: 'winner',
      key: best.key,
      sentence: `${capitalised(variant(best.key))} brought ${per100(decided.difference)} more ${noun} per 100 delivered ${range}${rival}; it won.`,
    };
  }
  const said =
    decided.difference === 0
      ? `The variants brought the same number of ${noun} per 100 delivered (difference 0.0, ${range.slice(1, -1)})`
      : `${capitalised(variant(best.key))} brought ${per100(decided.difference)} more ${noun} per 100 delivered ${range}${rival}`;
  return { kind: 'within_noise', key: first.key, sentence: `${said}: within noise, ${fallback}` };
}

/**
 * Treated minus held out on a per-person outcome (people with at least one), per 1,000, with the
 * Newcombe 95 % interval × 1,000.
 */
export function incrementalPer1000(
  treated: { successes: number; n: number },
  heldOut: { successes: number; n: number },
  z: number = Z_95,
): { difference: number } & Interval {
  const d = newcombeDifference(treated, heldOut, z);
  return { difference: d.difference * 1000, low: d.low * 1000, high: d.high * 1000 };
}

export interface WeeksNeededInput {
  /** The comparison group's rate p₀ (held out, or the week without a send). */
  baseline: number;
  /** The effect to detect, as a difference of rates d (p₁ = p₀ + d). */
  effect: number;
  /** People one week adds to the treated group (n₁). */
  treatedPerWeek: number;
  /** People one week adds to the comparison group (n₀). */
  comparisonPerWeek: number;
}

/**
 * Weeks of sends needed to see an effect of this size with 80 % power at α = 0.05 (two-sided),
 * normal approximation, unpooled variance. null when there is no effect to see (d = 0) or a group
 * gets nobody.
 */
export function weeksNeeded(input: WeeksNeededInput): number | null {
  const { baseline, effect, treatedPerWeek, comparisonPerWeek } = input;
  if (!Number.isFinite(effect) || effect === 0 || !(treatedPerWeek > 0) || !(comparisonPerWeek > 0)) return null;
  const p0 = clamp01(baseline);
  const p1 = clamp01(baseline + effect);
  const d = p1 - p0;
  if (d === 0) return null;
  const variance = (p1 * (1 - p1)) / treatedPerWeek + (p0 * (1 - p0)) / comparisonPerWeek;
  const zSum = Z_95 + Z_POWER_80;
  return Math.max(1, Math.ceil((zSum * zSum * variance) / (d * d)));
}
