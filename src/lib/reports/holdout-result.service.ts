import type { DB } from '../db/database.ts';
import { incrementalPer1000, wilsonInterval, type Interval } from '../experiments/statistics.ts';
import { countArmOutcomes, findSendStart, type ArmOutcomeRow } from './holdout-result.repository.ts';

/**
 * The holdout result (issue 19): the send's incremental effect per 1,000 recipients — recipients
 * (every arm but the held out) minus the held out — on outcomes that can be told per person in
 * both groups alike, with Newcombe's 95 % interval × 1,000 (experiments/statistics.ts).
 *
 * - Visits: identifiable = subscribers whose reader cookie was first set (`reader_known_at`)
 *   before the send's start; outcome = at least one visit from their browser (a visit whose first
 *   view carried their reader cookie) starting in the window. Visits through this issue's own
 *   links count: they are the effect.
 * - Calls: identifiable = subscribers whose phone number (hash) on file was set (`phone_set_at`)
 *   before the send's start; outcome = at least one call matched to them
 *   (`offline_events.subscriber_id`, not undone) in the window.
 *
 * The window: the send's start to 7 days after. Walk-ins, anonymous calls and door counts cannot
 * be told per person, so they are not compared. Every figure is a direct count of raw rows
 * (holdout-result.repository.ts): after erasure the person leaves both the identifiable and the
 * outcome; retention pruning of visits lowers the outcome with the rows.
 */

export const HOLDOUT_WINDOW_MS = 7 * 86_400_000;

export const NOT_COMPARED =
  'Walk-ins, calls from numbers not on file, and door counts cannot be tied to a person, so they are not in the holdout comparison.';

export interface OutcomeArm extends Interval {
  arm: string;
  size: number;
  identifiable: number;
  /** identifiable / size; null for an empty arm. */
  identifiableShare: number | null;
  /** Identifiable people with the outcome. */
  people: number;
  /** people / identifiable; null with nobody identifiable. */
  rate: number | null;
}

export interface HoldoutOutcomeResult {
  key: 'visits' | 'calls';
  name: string;
  /** Per arm, in the report's arm order. */
  arms: OutcomeArm[];
  treated: OutcomeArm;
  heldOut: OutcomeArm;
  /** Per 1,000 identifiable recipients; null when either group has nobody identifiable. */
  effect: ({ difference: number } & Interval) | null;
  sentence: string;
}

export interface HoldoutResult {
  from: number;
  to: number;
  /** False while the window is still open: the figures can still grow. */
  complete: boolean;
  visits: HoldoutOutcomeResult;
  calls: HoldoutOutcomeResult;
  /** Calls matched to each arm's subscribers in the window (calls, not people). */
  callsByArm: { arm: string; calls: number }[];
  notCompared: string;
}

const PHRASES = {
  visits: {
    name: 'Visited the site (readers known before the send)',
    who: 'recipients whose browser was known before the send',
    verb: 'visitors',
  },
  calls: {
    name: 'Called (subscribers with a phone number on file before the send)',
    who: 'recipients with a phone number on file before the send',
    verb: 'callers',
  },
} as const;

/** 41.23 → "41.2", −3 → "−3.0" (per 1,000, one decimal, a minus sign). */
export function per1000(x: number): string {
  const r = Math.round(x * 10) / 10;
  const text = Math.abs(r).toLocaleString('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return r < 0 && text !== '0.0' ? `−${text}` : text;
}

function armOf(arm: string, size: number, identifiable: number, people: number): OutcomeArm {
  return {
    arm,
    size,
    identifiable,
    identifiableShare: size > 0 ? identifiable / size : null,
    people,
    rate: identifiable > 0 ? people / identifiable : null,
    ...wilsonInterval(people, identifiable),
  };
}

/** One outcome's figures and sentence from the arms' counts (pure). */
export function outcomeResult(
  key: 'visits' | 'calls',
  rows: { arm: string; size: number; identifiable: number; people: number }[],
): HoldoutOutcomeResult {
  const arms = rows.map((r) => armOf(r.arm, r.size, r.identifiable, r.people));
  const sum = (list: OutcomeArm[], f: (a: OutcomeArm) => number) => list.reduce((n, a) => n + f(a), 0);
  const treatedArms = arms.filter((a) => a.arm !== 'holdout');
  const heldArms = arms.filter((a) => a.arm === 'holdout');
  const treated = armOf(
    'recipients',
    sum(treatedArms, (a) => a.size),
    sum(treatedArms, (a) => a.identifiable),
    sum(treatedArms, (a) => a.people),
  );
  const heldOut = armOf(
    'holdout',
    sum(heldArms, (a) => a.size),
    sum(heldArms, (a) => a.identifiable),
    sum(heldArms, (a) => a.people),
  );
  const p = PHRASES[key];
  if (treated.identifiable === 0 || heldOut.identifiable === 0) {
    const nobody =
      heldOut.size === 0
        ? 'There is no held-out group'
        : `Nobody ${treated.identifiable === 0 ? 'among the recipients' : 'in the held-out group'} is identifiable (${p.who.replace('recipients ', 'people ')})`;
    return { key, name: p.name, arms, treated, heldOut, effect: null, sentence: `${nobody}: no incremental figure.` };
  }
  const effect = incrementalPer1000(
    { successes: treated.people, n: treated.identifiable },
    { successes: heldOut.people, n: heldOut.identifiable },
  );
  const range = `(${per1000(effect.low)} to ${per1000(effect.high)})`;
  const amount =
    effect.difference >= 0
      ? `${per1000(effect.difference)} more ${p.verb} per 1,000 ${p.who} than in the held-out group ${range}`
      : `${per1000(-effect.difference)} fewer ${p.verb} per 1,000 ${p.who} than in the held-out group ${range}`;
  const verdict =
    effect.low > 0
      ? 'the send brought them.'
      : effect.high < 0
        ? 'fewer than without the send, beyond noise.'
        : 'within noise: the data cannot tell the send’s effect from none.';
  return { key, name: p.name, arms, treated, heldOut, effect, sentence: `There were ${amount}: ${verdict}` };
}

/** Each arm's per-person outcome counts in the window after the send's start; null before sending started. */
export interface ArmOutcomes {
  from: number;
  to: number;
  rows: ArmOutcomeRow[];
}

export async function loadArmOutcomes(db: DB, issueId: number): Promise<ArmOutcomes | null> {
  const from = await findSendStart(db, issueId);
  if (from === null) return null;
  const to = from + HOLDOUT_WINDOW_MS;
  return { from, to, rows: await countArmOutcomes(db, issueId, from, to) };
}

/** The holdout result of an issue's experiment, or null before sending started or without a held-out arm. */
export async function holdoutResult(db: DB, issueId: number, now = Date.now()): Promise<HoldoutResult | null> {
  return holdoutResultOf(await loadArmOutcomes(db, issueId), now);
}

/** The holdout result from the arms' outcome counts (pure). */
export function holdoutResultOf(outcomes: ArmOutcomes | null, now: number): HoldoutResult | null {
  if (!outcomes) return null;
  const { from, to, rows } = outcomes;
  if (!rows.some((r) => r.arm === 'holdout')) return null;
  const ordered = [...rows].sort((a, b) => rank(a.arm) - rank(b.arm));
  const pick = (f: (r: ArmOutcomeRow) => [number, number]) =>
    ordered.map((r) => {
      const [identifiable, people] = f(r);
      return { arm: r.arm, size: r.size, identifiable, people };
    });
  return {
    from,
    to,
    complete: now >= to,
    visits: outcomeResult(
      'visits',
      pick((r) => [r.readersKnown, r.readersVisited]),
    ),
    calls: outcomeResult(
      'calls',
      pick((r) => [r.phones, r.phonesCalled]),
    ),
    callsByArm: ordered.map((r) => ({ arm: r.arm, calls: r.calls })),
    notCompared: NOT_COMPARED,
  };
}

const ARM_ORDER = ['A', 'B', 'C', 'D', 'rest', 'holdout'];
function rank(arm: string): number {
  const i = ARM_ORDER.indexOf(arm);
  return i < 0 ? ARM_ORDER.length : i;
}
