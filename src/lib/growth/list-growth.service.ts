import type { DB } from '../db/database.ts';
import {
  countListChangesBefore,
  findErasureTimes,
  findListChanges,
  type ListChangeRow,
} from './list-growth.repository.ts';
import { growthPeriods, type GrowthRange } from './periods.ts';

/** Where new subscribers came from. */
export const JOIN_SOURCES = ['import', 'form', 'issue', 'other'] as const;
export type JoinSource = (typeof JOIN_SOURCES)[number];
/** Why people left: they unsubscribed, or their address bounced or complained (suppressed). */
export const LEAVE_REASONS = ['unsubscribed', 'suppressed'] as const;
export type LeaveReason = (typeof LEAVE_REASONS)[number];

export interface GrowthPeriod {
  firstDay: string;
  from: number;
  to: number;
  partial: boolean;
  joined: Record<JoinSource, number>;
  left: Record<LeaveReason, number>;
  /** Erasures ("delete my data"): counted apart, their history being gone with them. */
  erased: number;
  /** Active subscribers at the period's end (at now for the period still running). */
  activeAtEnd: number;
}

export interface ListGrowth {
  range: GrowthRange;
  timeZone: string;
  activeAtStart: number;
  periods: GrowthPeriod[];
}

/** Which source a join belongs to: an import, a signup form (from an issue's page: an issue referral), or other (added by hand or the API, a return). */
export function joinSource(row: Pick<ListChangeRow, 'kind' | 'detail' | 'sourceIssueId'>): JoinSource {
  if (row.kind === 'imported') return 'import';
  if (row.kind === 'confirmed') return row.sourceIssueId === null ? 'form' : 'issue';
  if (row.kind === 'added') {
    try {
      if ((JSON.parse(row.detail ?? '{}') as { form?: unknown }).form === 'import') return 'import';
    } catch {
      // An unreadable detail is an add by hand.
    }
  }
  return 'other';
}

function isLeave(kind: ListChangeRow['kind']): boolean {
  return kind === 'unsubscribed' || kind === 'bounced' || kind === 'complained';
}

/**
 * The list over a range: per local day, week or month, who joined (by source), who left (by
 * reason), erasures, and the number active at each period's end — counted from the
 * subscribers' timelines (see list-growth.repository.ts), never from a second ledger.
 */
export async function listGrowth(db: DB, range: GrowthRange, timeZone: string, now: number): Promise<ListGrowth> {
  const periods = growthPeriods(range, timeZone, now);
  const from = periods[0]!.from;
  const to = Math.min(periods[periods.length - 1]!.to, now);
  const [before, changes, erasures] = await Promise.all([
    countListChangesBefore(db, from),
    findListChanges(db, from, to),
    findErasureTimes(db, from, to),
  ]);
  const activeAtStart = before.joins - before.leaves;
  const out: GrowthPeriod[] = periods.map((p) => ({
    ...p,
    joined: { import: 0, form: 0, issue: 0, other: 0 },
    left: { unsubscribed: 0, suppressed: 0 },
    erased: 0,
    activeAtEnd: 0,
  }));
  const periodOf = (at: number) => out.find((p) => at >= p.from && at < p.to);
  for (const change of changes) {
    const period = periodOf(change.at);
    if (!period) continue;
    if (isLeave(change.kind)) period.left[change.kind === 'unsubscribed' ? 'unsubscribed' : 'suppressed']++;
    else period.joined[joinSource(change)]++;
  }
  for (const at of erasures) {
    const period = periodOf(at);
    if (period) period.erased++;
  }
  let active = activeAtStart;
  for (const period of out) {
    active +=
      JOIN_SOURCES.reduce((sum, s) => sum + period.joined[s], 0) -
      LEAVE_REASONS.reduce((sum, r) => sum + period.left[r], 0);
    period.activeAtEnd = active;
  }
  return { range, timeZone, activeAtStart, periods: out };
}
