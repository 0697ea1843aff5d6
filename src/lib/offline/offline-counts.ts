import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, OfflineEventKind } from '../db/schema.ts';
import { addReportCounts, CountDeltas } from '../counts/ledger.ts';
import { SITE } from '../counts/buckets.ts';
import type { PlainMetric } from '../counts/metrics.ts';
import {
  deleteOfflineEventsBefore,
  insertOfflineEventIfNew,
  type NewOfflineEvent,
  type OfflineEventRow,
} from './offline-events.repository.ts';
import { addCallers, dropCallersWithoutCalls } from './callers.repository.ts';
import { lockCallers } from './call-locks.ts';

const MENTIONED_METRIC: Record<OfflineEventKind, PlainMetric> = {
  call: 'call.mentioned',
  walk_in: 'walk_in.mentioned',
};

interface Counted {
  kind: OfflineEventKind;
  at: number;
  mentioned_newsletter: number | null;
  issue_id: number | null;
  /** Calls: 1 answered, 0 missed, null not said (absent: not read, e.g. a CSV import's rows). */
  answered?: number | null;
  /** Calls: 1 repeat caller, 0 first-time caller, null caller unknown. */
  repeat_caller?: number | null;
}

/** Which call-outcome metrics a call adds to: answered or missed, first-time or repeat caller (none when not known). */
function callOutcomeMetrics(r: Counted): PlainMetric[] {
  if (r.kind !== 'call') return [];
  const metrics: PlainMetric[] = [];
  const answered = r.answered === null || r.answered === undefined ? null : Number(r.answered);
  const repeat = r.repeat_caller === null || r.repeat_caller === undefined ? null : Number(r.repeat_caller);
  if (answered !== null) metrics.push(answered === 1 ? 'call.answered' : 'call.missed');
  if (repeat !== null) metrics.push(repeat === 1 ? 'call.repeat' : 'call.first_time');
  return metrics;
}

/**
 * What offline events add to (sign 1) or take from (sign -1, removed or undone) the report
 * counts: calls and walk-ins site-wide, those that mentioned the newsletter, and those credited
 * to an issue.
 */
export function offlineEventDeltas(rows: readonly Counted[], sign: 1 | -1, deltas = new CountDeltas()): CountDeltas {
  for (const r of rows) {
    const at = Number(r.at);
    deltas.atToTheMinute(SITE, r.kind, at, sign);
    if (r.mentioned_newsletter === 1) deltas.at(SITE, MENTIONED_METRIC[r.kind], at, sign);
    if (r.issue_id !== null) deltas.at(Number(r.issue_id), r.kind, at, sign);
    for (const metric of callOutcomeMetrics(r)) {
      deltas.at(SITE, metric, at, sign);
      if (r.issue_id !== null) deltas.at(Number(r.issue_id), metric, at, sign);
    }
  }
  return deltas;
}

/** Stores one event (once per client id) and counts it, in one transaction. */
export async function storeOfflineEvent(db: DB, row: NewOfflineEvent): Promise<OfflineEventRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const inserted = await insertOfflineEventIfNew(trx, row);
    if (inserted) await addReportCounts(trx, offlineEventDeltas([inserted], 1));
    return inserted;
  });
}

/** Runs a change of `undone_at` and moves the counts with it (the change answers the row when it changed). */
export async function changeOfflineEventCounting(
  db: DB,
  sign: 1 | -1,
  change: (trx: Transaction<Database>) => Promise<OfflineEventRow | undefined>,
): Promise<OfflineEventRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await change(trx);
    if (!row) return row;
    const caller = row.kind === 'call' ? row.from_hash : null;
    // Before the counts: a call batch takes the caller's lock before it writes any count.
    if (caller) await lockCallers(trx, [caller]);
    await addReportCounts(trx, offlineEventDeltas([row], sign));
    if (caller) await changeCallers(trx, sign, [caller]);
    return row;
  });
}

/**
 * Keeps `callers` in step with calls counted again (sign 1) or no longer counted (sign -1): a
 * caller whose last counted call goes has no row left, so their next call is a first-time
 * caller's again. The callers are locked first (lockCallers).
 */
async function changeCallers(trx: Transaction<Database>, sign: 1 | -1, hashes: readonly string[]): Promise<void> {
  if (sign === 1) await addCallers(trx, hashes);
  else await dropCallersWithoutCalls(trx, hashes);
}

/**
 * Retention of offline events: up to `limit` rows dated before `cutoff` deleted (the maintained
 * counts stay, like every raw table's), and the rows of callers left without a counted call with
 * them, in one transaction. Answers how many rows went.
 */
export async function pruneOfflineEventsBefore(db: DB, cutoff: number, limit: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const rows = await deleteOfflineEventsBefore(trx, cutoff, limit);
    const callers = new Set<string>();
    for (const r of rows) if (r.kind === 'call' && r.from_hash && r.undone_at === null) callers.add(r.from_hash);
    await lockCallers(trx, callers);
    await changeCallers(trx, -1, [...callers]);
    return rows.length;
  });
}
