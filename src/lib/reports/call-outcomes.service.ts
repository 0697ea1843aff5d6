import type { DB } from '../db/database.ts';
import { findTotals } from '../counts/range-reads.ts';
import type { PlainMetric } from '../counts/metrics.ts';

/**
 * The calls credited to an issue (its tracked phone number), told apart: answered or missed,
 * as the phone provider reported it, and first-time or repeat callers. Read from the
 * maintained counts (`call`, `call.answered`, `call.missed`, `call.first_time`,
 * `call.repeat`), so each figure equals a direct count of the raw rows (offline_events with
 * this issue_id, not undone, by `answered` and `repeat_caller`) and stays after pruning and
 * erasure. What a source did not say is its own figure, never guessed.
 */
export interface CallOutcomes {
  credited: number;
  answered: number;
  missed: number;
  /** Credited calls whose source did not say (the tally page, the admin, a CSV row, a generic webhook without `answered`). */
  answeredUnknown: number;
  firstTime: number;
  repeat: number;
  /** Credited calls without a caller number (withheld, or a source that has none). */
  callerUnknown: number;
}

const METRICS = [
  'call',
  'call.answered',
  'call.missed',
  'call.first_time',
  'call.repeat',
] as const satisfies PlainMetric[];

export async function issueCallOutcomes(db: DB, issueId: number): Promise<CallOutcomes> {
  const totals = new Map((await findTotals(db, [issueId], METRICS)).map((t) => [t.metric, t.n]));
  const n = (metric: (typeof METRICS)[number]) => totals.get(metric) ?? 0;
  const credited = n('call');
  return {
    credited,
    answered: n('call.answered'),
    missed: n('call.missed'),
    answeredUnknown: credited - n('call.answered') - n('call.missed'),
    firstTime: n('call.first_time'),
    repeat: n('call.repeat'),
    callerUnknown: credited - n('call.first_time') - n('call.repeat'),
  };
}
