import type { DB } from '../db/database.ts';
import { quarterOf, SITE } from '../counts/buckets.ts';
import type { MinuteMetric } from '../counts/metrics.ts';
import { findCountBuckets, findFirstBucket, sumMinuteWindows, sumWindows } from '../counts/range-reads.ts';
import { doorCounters } from '../door/door-counts.service.ts';
import { minuteLifts, type LiftResult } from './lift.ts';
import { findSendTimes } from './reports.repository.ts';
import { weekHourMatrix } from './week-hour.ts';
import { cumulativeSteps } from './issue-report.service.ts';
import { addDays, dayOf, startOfDay } from '../time/zoned-time.ts';

/**
 * People through the door for an issue's report: counted by door counters (`door.in`), shown
 * beside the walk-ins staff tapped (`walk_in`) and never added to them: a counted interval and a
 * tally tap are separate figures from separate sources. Like calls and walk-ins, these are the
 * shop's traffic in the issue's window (it ends where the next issue's begins), not the issue's
 * result; the lift compares them with normal weeks.
 */

export interface DoorReport {
  /** The counters named in Settings (none: the report says how to connect one). */
  counters: { key: string; name: string }[];
  /** Running totals by time since the send (15-minute buckets), counted and tapped. */
  curves: { key: 'doorIn' | 'walkIns'; name: string; points: [number, number][] }[];
  /** People counted in the issue's window by weekday and hour (site time zone). */
  heatmap: { values: number[][]; total: number };
  /** In the issue's window so far: counted in, counted out, tapped walk-ins. */
  window: { doorIn: number; doorOut: number; walkIns: number };
  /** null without a counter. */
  lift: { h24: LiftResult; h72: LiftResult } | null;
}

export interface DoorReportInput {
  sentAt: number;
  windowEndsAt: number;
  issueId: number;
  span: { stepMs: number; spanMs: number };
  timeZone: string;
  now: number;
}

/** The lift of a per-minute site metric from the send's minute (the issue report's rule, for any MinuteMetric). */
export async function minuteMetricLift(
  db: DB,
  metric: MinuteMetric,
  input: { sentAt: number; issueId: number; timeZone: string; now: number; noun: { one: string; other: string } },
): Promise<{ h24: LiftResult; h72: LiftResult }> {
  const otherSendTimes = (await findSendTimes(db)).filter((s) => s.issueId !== input.issueId).map((s) => s.sentAt);
  const dataSince = await findFirstBucket(db, SITE, [metric]);
  const { issueId: _issueId, ...rest } = input;
  return minuteLifts(
    { ...rest, otherSendTimes, ...(dataSince === undefined ? {} : { dataSince }) },
    (quarters, minutes) =>
      Promise.all([sumWindows(db, SITE, metric, quarters), sumMinuteWindows(db, SITE, metric, minutes)]),
  );
}

function emptyDoorReport(): DoorReport {
  return {
    counters: [],
    curves: [],
    heatmap: { values: [], total: 0 },
    window: { doorIn: 0, doorOut: 0, walkIns: 0 },
    lift: null,
  };
}

export async function issueDoorReport(db: DB, input: DoorReportInput): Promise<DoorReport> {
  const from = quarterOf(input.sentAt);
  const curveEnd = from + input.span.spanMs;
  const counters = await doorCounters(db);
  // No counter named: nothing to read (the report says how to connect one).
  if (counters.length === 0) return emptyDoorReport();
  const [buckets, lift] = await Promise.all([
    findCountBuckets(db, SITE, ['door.in', 'door.out', 'walk_in'], from, Math.max(input.windowEndsAt, curveEnd)),
    minuteMetricLift(db, 'door.in', {
      sentAt: input.sentAt,
      issueId: input.issueId,
      timeZone: input.timeZone,
      now: input.now,
      noun: { one: 'person through the door', other: 'people through the door' },
    }),
  ]);
  const only = (metric: string) => buckets.filter((b) => b.metric === metric);
  const inWindow = (metric: string) => only(metric).filter((b) => b.bucket < input.windowEndsAt);
  const until = Math.min(input.now, input.windowEndsAt);
  const values = weekHourMatrix(inWindow('door.in'), input.timeZone);
  const sum = (rows: { n: number }[]) => rows.reduce((a, b) => a + b.n, 0);
  return {
    counters: counters.map((c) => ({ key: c.key, name: c.name })),
    curves: [
      {
        key: 'doorIn',
        name: 'People through the door (counted)',
        points: cumulativeSteps(only('door.in'), from, input.span, until),
      },
      { key: 'walkIns', name: 'Walk-ins (tapped)', points: cumulativeSteps(only('walk_in'), from, input.span, until) },
    ],
    heatmap: { values, total: values.flat().reduce((a, b) => a + b, 0) },
    window: { doorIn: sum(inWindow('door.in')), doorOut: sum(inWindow('door.out')), walkIns: sum(inWindow('walk_in')) },
    lift,
  };
}

/** People counted in and out per day of the site's time zone, [fromDay, toDay] inclusive, every day listed (zeros too), oldest first. */
export async function doorCountsByDay(
  db: DB,
  range: { fromDay: string; toDay: string; timeZone: string },
): Promise<{ counters: number; days: { day: string; in: number; out: number }[]; total: { in: number; out: number } }> {
  const from = startOfDay(range.fromDay, range.timeZone);
  const to = startOfDay(addDays(range.toDay, 1), range.timeZone);
  const [counters, buckets] = await Promise.all([
    doorCounters(db),
    findCountBuckets(db, SITE, ['door.in', 'door.out'], from, to),
  ]);
  const byDay = new Map<string, { day: string; in: number; out: number }>();
  for (let day = range.fromDay; day <= range.toDay; day = addDays(day, 1)) byDay.set(day, { day, in: 0, out: 0 });
  const total = { in: 0, out: 0 };
  for (const b of buckets) {
    const entry = byDay.get(dayOf(b.bucket, range.timeZone));
    if (!entry) continue;
    const side = b.metric === 'door.in' ? 'in' : 'out';
    entry[side] += b.n;
    total[side] += b.n;
  }
  return { counters: counters.length, days: [...byDay.values()], total };
}
