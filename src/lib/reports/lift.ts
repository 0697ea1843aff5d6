/**
 * Lift: what a send added over a normal week, with an interval and a sentence a shop owner can
 * read. Pure: counts come in through `countIn`, numbers and words go out.
 *
 * Observed: events in [from, from + horizon), `from` being the send (or the start of the count
 * bucket it fell in, `countFrom`); before the horizon has passed, [from, now). Expected: the mean count of the same window
 * k = 1…weeks calendar weeks earlier in the site's time zone (same weekday and wall-clock hours,
 * so across a clock change the window moves by 167 or 169 elapsed hours, not 168), over the
 * weeks nobody else's send touched.
 *
 * Touched: another send at t touches a window [from, to) when its own effect window of the SAME
 * horizon, [t, t + horizon), overlaps it: t < to && t + horizon > from. So for the 24 h lift a
 * send 30 h before a week-back window does not disqualify it, while for the 72 h lift it does.
 * A send whose window ends exactly when ours starts, or that goes out the instant ours ends,
 * does not touch it. A time equal to `sentAt` in `otherSendTimes` is this send and is ignored.
 *
 * Interval (95 %, normal approximation, z = 1.96) for lift = observed − expected:
 *   var = max(observed, expected, 1)   the observed count's Poisson noise; taking the larger of the two
 *                                      counts keeps a low or zero count from looking noiseless, and the
 *                                      floor of 1 stands for "0 is consistent with a small rate"
 *       + extra                        week-to-week spread beyond Poisson, which the observed week has too
 *       + (expected + extra) / k       the uncertainty of a mean of k weeks
 *   extra = max(0, s² − expected) with s² the baseline weeks' sample variance (k ≥ 2; 0 for one week).
 *   Two weeks give a rough s², but ignoring weeks of 60 and 140 around a mean of 100 would claim
 *   a precision the data deny; spread at or below Poisson adds nothing.
 * The low end is not taken below −(expected + 1.96 × √((expected + extra) / k)): the observed rate
 * cannot be below zero, so the lift cannot be below minus the highest plausible baseline.
 * Verdict: 'above' when the whole interval is above zero, 'below' when it is all below, else 'noise'.
 */
import { wallTimeOf, zonedToEpoch, zoneOffsetAt, clockTimeOf } from '../time/zoned-time.ts';
import { countOf, durationOf, nounFor } from '../text/counts.ts';
import { MINUTE_MS, minuteOf, QUARTER_MS } from '../counts/buckets.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const Z_95 = 1.96;
/** Six days: the one-week-back window then always ends before the send, even across a clock change. */
const MAX_HORIZON_HOURS = 144;
const MAX_WEEKS = 52;

export interface LiftInput {
  /** When the send started: the sentence's window is told from here. */
  sentAt: number;
  /**
   * Where counting starts, at or before `sentAt` (default `sentAt`): the reports count from the
   * start of the send's minute. Every window, observed and earlier, starts here.
   */
  countFrom?: number;
  /** 24 or 72 in the reports; at most 144. */
  horizonHours: number;
  /** When every other send went out (issues, not deliveries). */
  otherSendTimes: readonly number[];
  /** Events in [from, to). Called once for the observed window and once per earlier week. */
  countIn: (from: number, to: number) => number;
  /** How many earlier weeks to look at (default 4). */
  weeks?: number;
  /** The site's IANA time zone; weeks back are calendar weeks there (default UTC, i.e. 168 h). */
  timeZone?: string;
  /** Earlier weeks whose window starts before this instant have no data and are skipped. */
  dataSince?: number;
  /** Before the horizon has passed, compare the time so far: [countFrom, now) against the same span of earlier weeks. */
  now?: number;
  /** What is counted, for the sentence (default visit/visits). */
  noun?: { one: string; other: string };
}

export type ExclusionReason = 'another-send' | 'before-data';

export interface BaselineWeek {
  /** 1 = the week before the send. */
  weeksBack: number;
  from: number;
  to: number;
  count: number;
}

export interface ExcludedWeek {
  weeksBack: number;
  reason: ExclusionReason;
  from: number;
  to: number;
  /** For 'another-send': when the first send that touched the window went out. */
  sendAt?: number;
}

export type LiftVerdict = 'above' | 'below' | 'noise' | 'no-baseline';

export interface LiftResult {
  /** When the send started (the sentence tells the window from here). */
  sentAt: number;
  /** The window counted: [from, to), `from` being countFrom. `to` is now while the window is still open. */
  from: number;
  to: number;
  windowComplete: boolean;
  observed: number;
  /** null when no earlier week was clean: no baseline, no made-up number. */
  expected: number | null;
  lift: number | null;
  low: number | null;
  high: number | null;
  /** lift / expected; null without a baseline or when expected is 0. */
  relative: number | null;
  verdict: LiftVerdict;
  weeksUsed: number[];
  weeksExcluded: ExcludedWeek[];
  baseline: BaselineWeek[];
  /** Other sends whose window overlaps the observed one: part of the difference may be theirs. */
  observedTouchedBy: number[];
  sentence: string;
}

/**
 * The instant with the same wall-clock time `weeks` calendar weeks earlier (negative: later) in
 * `timeZone`. A wall time the clocks skipped maps to the instant it would have been on the old
 * offset (01:30 on the night London jumps to BST → 02:30 BST); one that happened twice maps to
 * the first.
 */
export function shiftByWeeks(at: number, weeks: number, timeZone: string): number {
  const wall = wallTimeOf(at, timeZone);
  const shifted = new Date(
    Date.UTC(
      wall.year,
      wall.month - 1,
      wall.day - 7 * weeks,
      wall.hour,
      wall.minute,
      wall.second ?? 0,
      wall.millisecond ?? 0,
    ),
  );
  const target = {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
    second: shifted.getUTCSeconds(),
    millisecond: shifted.getUTCMilliseconds(),
  };
  const exact = zonedToEpoch(target, timeZone);
  if (exact !== undefined) return exact;
  const localAsUtc = shifted.getTime();
  return localAsUtc - zoneOffsetAt(localAsUtc - DAY, timeZone);
}

/**
 * How a window [from, to) is read from counts kept in buckets of `bucketMs` (aligned since the
 * epoch, as in report_counts): the whole buckets [floor(from), floor(to)), and the bucket holding
 * `to` when `to` falls inside one. That bucket counts in full when `to` is `now` — nothing after
 * now has happened, so the quarter-hour still running holds exactly what happened so far — and
 * otherwise by the share of it before `to`, so an earlier week's window spans the same minutes
 * as the window it is compared with (its count is then an expectation, not a whole number).
 */
export function bucketWindow(
  from: number,
  to: number,
  options: { bucketMs?: number; now?: number } = {},
): { whole: [number, number]; part: { from: number; to: number; share: number } | null } {
  const bucketMs = options.bucketMs ?? 15 * 60_000;
  const floor = (t: number) => Math.floor(t / bucketMs) * bucketMs;
  const a = floor(from);
  const b = Math.max(a, floor(to));
  if (to <= b) return { whole: [a, b], part: null };
  return { whole: [a, b], part: { from: b, to: b + bucketMs, share: to === options.now ? 1 : (to - b) / bucketMs } };
}

/** How a window is read from counts kept per quarter-hour and per minute (see exactWindow). */
export interface WindowPieces {
  /** Whole quarter-hours [a, b); null when none lies inside. */
  buckets: [number, number] | null;
  /** Whole minutes at the edges, [a, b) each. */
  minutes: [number, number][];
}

/**
 * [from, to) to the minute: from the start of `from`'s minute to the end of the minute holding
 * `to` (a window ending now takes the minute still running, which holds exactly what happened
 * so far; an earlier week's window then spans the same minutes). Whole buckets of `bucketMs`
 * inside it are read as such; the minutes before the first and after the last at the edges
 * (after a send in its quarter-hour, the quarter-hour still running) from the per-minute counts.
 */
export function exactWindow(
  from: number,
  to: number,
  options: { bucketMs?: number; minuteMs?: number } = {},
): WindowPieces {
  const bucketMs = options.bucketMs ?? 15 * 60_000;
  const minuteMs = options.minuteMs ?? 60_000;
  const floor = (t: number, size: number) => Math.floor(t / size) * size;
  const start = floor(from, minuteMs);
  const end = Math.ceil(to / minuteMs) * minuteMs;
  const pieces: WindowPieces = { buckets: null, minutes: [] };
  if (end <= start) return pieces;
  const firstWhole = Math.ceil(start / bucketMs) * bucketMs;
  const lastWhole = floor(end, bucketMs);
  if (firstWhole >= lastWhole) {
    pieces.minutes.push([start, end]);
    return pieces;
  }
  if (start < firstWhole) pieces.minutes.push([start, firstWhole]);
  pieces.buckets = [firstWhole, lastWhole];
  if (lastWhole < end) pieces.minutes.push([lastWhole, end]);
  return pieces;
}

/**
 * A `countIn` over pre-fetched bucket counts (`[bucketStart, count]`, buckets aligned to
 * `bucketMs` since the epoch, as in report_counts), windows read as bucketWindow says: a send
 * at 09:07 is measured from 09:00, every window rounded the same way, observed and baseline alike.
 */
export function countsFromBuckets(
  buckets: readonly (readonly [number, number])[],
  options: { bucketMs?: number; now?: number } = {},
): (from: number, to: number) => number {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const starts = sorted.map(([start]) => start);
  const prefix = [0];
  for (const [, count] of sorted) prefix.push(prefix[prefix.length - 1]! + count);
  const firstAtOrAfter = (t: number) => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const sum = (a: number, b: number) => {
    const i = firstAtOrAfter(a);
    const j = firstAtOrAfter(b);
    return j > i ? prefix[j]! - prefix[i]! : 0;
  };
  return (from, to) => {
    const { whole, part } = bucketWindow(from, to, options);
    return sum(whole[0], whole[1]) + (part ? part.share * sum(part.from, part.to) : 0);
  };
}

function assertInput(input: LiftInput, weeks: number): void {
  const { sentAt, horizonHours, now, dataSince, countFrom } = input;
  if (!Number.isFinite(sentAt)) throw new RangeError('sentAt must be an instant (epoch milliseconds)');
  if (countFrom !== undefined && !(Number.isFinite(countFrom) && countFrom <= sentAt))
    throw new RangeError('countFrom must be an instant at or before sentAt');
  if (!Number.isFinite(horizonHours) || horizonHours <= 0 || horizonHours > MAX_HORIZON_HOURS) {
    throw new RangeError(`horizonHours must be more than 0 and at most ${MAX_HORIZON_HOURS}`);
  }
  if (!Number.isInteger(weeks) || weeks < 1 || weeks > MAX_WEEKS)
    throw new RangeError(`weeks must be a whole number from 1 to ${MAX_WEEKS}`);
  if (now !== undefined && !(Number.isFinite(now) && now > sentAt))
    throw new RangeError('now must be after sentAt: there is nothing to measure yet');
  if (dataSince !== undefined && !Number.isFinite(dataSince))
    throw new RangeError('dataSince must be an instant (epoch milliseconds)');
  if (input.otherSendTimes.some((t) => !Number.isFinite(t)))
    throw new RangeError('otherSendTimes must all be instants (epoch milliseconds)');
}

function countedIn(countIn: LiftInput['countIn'], from: number, to: number): number {
  const n = countIn(from, to);
  if (!Number.isFinite(n) || n < 0)
    throw new RangeError(`countIn(${from}, ${to}) returned ${n}; a count is a number of events, 0 or more`);
  return n;
}

export function computeLift(input: LiftInput): LiftResult {
  const weeks = input.weeks ?? 4;
  assertInput(input, weeks);
  const { sentAt, horizonHours, countIn } = input;
  const timeZone = input.timeZone ?? 'UTC';
  const horizon = horizonHours * HOUR;
  const from = input.countFrom ?? sentAt;
  const to = input.now !== undefined ? Math.min(from + horizon, input.now) : from + horizon;
  const windowComplete = to === from + horizon;
  const otherSends = input.otherSendTimes.filter((t) => t !== sentAt).sort((a, b) => a - b);
  const touching = (a: number, b: number) => otherSends.filter((t) => t < b && t + horizon > a);

  const baseline: BaselineWeek[] = [];
  const weeksExcluded: ExcludedWeek[] = [];
  for (let weeksBack = 1; weeksBack <= weeks; weeksBack++) {
    const weekFrom = shiftByWeeks(from, weeksBack, timeZone);
    const weekTo = shiftByWeeks(to, weeksBack, timeZone);
    const sends = touching(weekFrom, weekTo);
    if (input.dataSince !== undefined && weekFrom < input.dataSince) {
      weeksExcluded.push({ weeksBack, reason: 'before-data', from: weekFrom, to: weekTo });
    } else if (sends.length > 0) {
      weeksExcluded.push({ weeksBack, reason: 'another-send', from: weekFrom, to: weekTo, sendAt: sends[0]! });
    } else {
      baseline.push({ weeksBack, from: weekFrom, to: weekTo, count: countedIn(countIn, weekFrom, weekTo) });
    }
  }

  const observed = countedIn(countIn, from, to);
  const observedTouchedBy = touching(from, to);
  const common = {
    sentAt,
    from,
    to,
    windowComplete,
    observed,
    weeksUsed: baseline.map((w) => w.weeksBack),
    weeksExcluded,
    baseline,
    observedTouchedBy,
  };
  const words: Omit<SentenceParts, 'estimate'> = {
    ...common,
    horizonHours,
    weeks,
    timeZone,
    noun: input.noun ?? { one: 'visit', other: 'visits' },
  };

  if (baseline.length === 0) {
    return {
      ...common,
      expected: null,
      lift: null,
      low: null,
      high: null,
      relative: null,
      verdict: 'no-baseline',
      sentence: sentenceFor({ ...words, estimate: null }),
    };
  }

  const k = baseline.length;
  const expected = baseline.reduce((sum, w) => sum + w.count, 0) / k;
  const sampleVariance = k >= 2 ? baseline.reduce((sum, w) => sum + (w.count - expected) ** 2, 0) / (k - 1) : 0;
  const extra = Math.max(0, sampleVariance - expected);
  const baselineVariance = (expected + extra) / k;
  const halfWidth = Z_95 * Math.sqrt(Math.max(observed, expected, 1) + extra + baselineVariance);
  const lift = observed - expected;
  const lowest = -(expected + Z_95 * Math.sqrt(baselineVariance));
  const low = Math.max(lift - halfWidth, lowest) || 0; // never −0
  const high = lift + halfWidth;
  const verdict: LiftVerdict = low > 0 ? 'above' : high < 0 ? 'below' : 'noise';
  const relative = expected > 0 ? lift / expected : null;
  const estimate = { expected, lift, low, high, verdict };
  return { ...common, ...estimate, relative, sentence: sentenceFor({ ...words, estimate }) };
}

// ---- the sentence ----

interface SentenceParts {
  sentAt: number;
  from: number;
  to: number;
  windowComplete: boolean;
  observed: number;
  horizonHours: number;
  weeks: number;
  timeZone: string;
  noun: { one: string; other: string };
  weeksExcluded: ExcludedWeek[];
  baseline: BaselineWeek[];
  observedTouchedBy: number[];
  estimate: { expected: number; lift: number; low: number; high: number; verdict: LiftVerdict } | null;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const NUMBER_WORDS = [
  'no',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
];

const inWords = (n: number) => NUMBER_WORDS[n] ?? String(n);

/** Whole numbers from 10 up, one decimal below (2.5 calls a week is a fair thing to say). */
function amount(n: number): string {
  const rounded = Math.abs(n) >= 9.95 ? Math.round(n) : Math.round(n * 10) / 10;
  return Object.is(rounded, -0) ? '0' : rounded.toLocaleString('en-GB');
}

const hours = (h: number) => countOf(h, 'hour', 1);

function weekdayOf(at: number, timeZone: string): string {
  const w = wallTimeOf(at, timeZone);
  return WEEKDAYS[new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay()]!;
}

function describeWindow(from: number, to: number, timeZone: string): string {
  const fromDay = weekdayOf(from, timeZone);
  const toDay = weekdayOf(to, timeZone);
  const sameDay = to - from < DAY && fromDay === toDay;
  return `${fromDay} ${clockTimeOf(from, timeZone)} to ${sameDay ? '' : `${toDay} `}${clockTimeOf(to, timeZone)}`;
}

function countWith(n: number, noun: { one: string; other: string }): string {
  if (n === 0) return `no ${noun.other}`;
  return `${amount(n)} ${nounFor(n, noun, 1)}`;
}

function describeBaselineSource(parts: SentenceParts): string {
  const used = parts.baseline.length;
  const previous = `the previous ${parts.weeks === 1 ? 'week' : `${inWords(parts.weeks)} weeks`}`;
  const source =
    used === parts.weeks
      ? used === 1
        ? previous
        : `the average of ${previous}`
      : used === 1
        ? `one of ${previous}`
        : `the average of ${inWords(used)} of ${previous}`;
  const skipped = describeSkipped(parts.weeksExcluded);
  return skipped ? `${source}; ${skipped}` : source;
}

function describeSkipped(excluded: ExcludedWeek[]): string {
  const bySend = excluded.filter((w) => w.reason === 'another-send').length;
  const beforeData = excluded.filter((w) => w.reason === 'before-data').length;
  const groups: string[] = [];
  const was = (n: number) => (n === 1 ? 'was' : 'were');
  if (bySend)
    groups.push(`${inWords(bySend)} ${was(bySend)} skipped because another newsletter went out in those hours`);
  if (beforeData) groups.push(`${inWords(beforeData)} ${was(beforeData)} skipped because records had not begun`);
  return groups.join(' and ');
}

function describeDifference(lift: number, low: number, high: number, verdict: LiftVerdict): string {
  const size = (n: number) => amount(Math.abs(n));
  const difference = amount(lift) === '0' ? 'about the same' : `${size(lift)} ${lift > 0 ? 'more' : 'fewer'}`;
  let range: string;
  if (amount(low) !== '0' && low < 0 && amount(high) !== '0' && high > 0)
    range = `between ${size(low)} fewer and ${size(high)} more`;
  else if (high <= 0 || amount(high) === '0') range = `between ${size(high)} and ${size(low)} fewer`;
  else range = `between ${size(low)} and ${size(high)} more`;
  const judgement =
    verdict === 'above'
      ? 'more than normal variation explains'
      : verdict === 'below'
        ? 'a bigger drop than normal variation explains'
        : 'which is within normal variation';
  return `That is ${difference} (${range}), ${judgement}.`;
}

function sentenceFor(parts: SentenceParts): string {
  const { sentAt, to, timeZone, horizonHours, estimate } = parts;
  // Told from the send itself; how the counts are bucketed is said beside the figures.
  const soFar = to - sentAt;
  const window =
    !parts.windowComplete && soFar < 60_000
      ? `${weekdayOf(sentAt, timeZone)} ${clockTimeOf(sentAt, timeZone)}, moments ago`
      : describeWindow(sentAt, parts.windowComplete ? sentAt + horizonHours * HOUR : Math.max(to, sentAt), timeZone);
  const opening = parts.windowComplete
    ? `In the ${hours(horizonHours)} after the send (${window})`
    : `${soFar < 60_000 ? 'In the first minute after the send' : `In the ${durationOf(soFar)} since the send`} (${window}; the ${amount(horizonHours)}-hour window is still open)`;
  const observed = `${opening} there ${parts.observed > 0 && amount(parts.observed) === '1' ? 'was' : 'were'} ${countWith(parts.observed, parts.noun)}`;

  if (!estimate) {
    const previous = parts.weeks === 1 ? 'the previous week' : `the previous ${inWords(parts.weeks)} weeks`;
    return `${observed}. There is no normal week to compare with (of ${previous}, ${describeSkipped(parts.weeksExcluded)}), so no lift can be given.`;
  }

  const expected =
    estimate.expected === 0 ? 'none' : amount(estimate.expected) === '0' ? 'almost none' : amount(estimate.expected);
  const span = !parts.windowComplete && parts.to - parts.sentAt < HOUR ? 'minutes' : 'hours';
  const baseline = `a normal week has ${expected} in those ${span} (${describeBaselineSource(parts)})`;
  const touched = parts.observedTouchedBy.length
    ? ` Another newsletter went out within ${hours(horizonHours)} of this one, so part of the difference may be its doing.`
    : '';
  return `${observed}; ${baseline}. ${describeDifference(estimate.lift, estimate.low, estimate.high, estimate.verdict)}${touched}`;
}

/** A window's pieces, whole quarter-hours and edge minutes, each `[from, to)`. */
type Ranges = [number, number][];

/**
 * The 24 h and 72 h lifts of one count kept per quarter-hour and per minute, counted from the
 * start of the send's minute (to now while the horizon runs) against the same minutes of earlier
 * weeks. computeLift is pure: a first pass learns which windows it counts, `sum` reads them all at
 * once (one read a grain), a second pass gets the answers.
 */
export async function minuteLifts(
  input: Omit<LiftInput, 'countIn' | 'horizonHours' | 'countFrom'>,
  sum: (quarters: Ranges, minutes: Ranges) => Promise<[number[], number[]]>,
): Promise<{ h24: LiftResult; h72: LiftResult }> {
  const common = { ...input, countFrom: minuteOf(input.sentAt) };
  const run = (countIn: (from: number, to: number) => number) => ({
    h24: computeLift({ ...common, countIn, horizonHours: 24 }),
    h72: computeLift({ ...common, countIn, horizonHours: 72 }),
  });
  const piecesOf = (from: number, to: number) => exactWindow(from, to, { bucketMs: QUARTER_MS, minuteMs: MINUTE_MS });
  const quarters = new Map<string, [number, number]>();
  const minutes = new Map<string, [number, number]>();
  const ask = (ranges: Map<string, [number, number]>, [from, to]: [number, number]) =>
    ranges.set(`${from}:${to}`, [from, to]);
  run((from, to) => {
    const { buckets, minutes: edges } = piecesOf(from, to);
    if (buckets) ask(quarters, buckets);
    for (const edge of edges) ask(minutes, edge);
    return 0;
  });
  const [quarterCounts, minuteCounts] = await sum([...quarters.values()], [...minutes.values()]);
  const lookup = (ranges: Map<string, [number, number]>, counts: number[]) => {
    const keys = [...ranges.keys()];
    return ([from, to]: [number, number]) => {
      const i = keys.indexOf(`${from}:${to}`);
      if (i < 0) throw new Error(`lift asked for a window it did not ask for before: ${from}–${to}`);
      return counts[i]!;
    };
  };
  const quarterSum = lookup(quarters, quarterCounts);
  const minuteSum = lookup(minutes, minuteCounts);
  return run((from, to) => {
    const { buckets, minutes: edges } = piecesOf(from, to);
    return (buckets ? quarterSum(buckets) : 0) + edges.reduce((n, edge) => n + minuteSum(edge), 0);
  });
}
