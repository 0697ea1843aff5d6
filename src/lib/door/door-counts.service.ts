import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { addReportCounts, CountDeltas } from '../counts/ledger.ts';
import { SITE } from '../counts/buckets.ts';
import { addDays, dayOf, startOfDay } from '../time/zoned-time.ts';
import {
  countedBuckets,
  type CountedBucket,
  type CounterRule,
  type IntervalCount,
  type WeekHours,
} from './placement.ts';
import {
  deleteDoorCounter,
  findDoorCounterById,
  findDoorCountsOfCounter,
  findDoorCountsOverlapping,
  insertDoorCounter,
  listDoorCounters,
  lockDoorCounter,
  updateDoorCounter,
  upsertDoorCounts,
  type DoorCounterRow,
  type DoorCountRow,
} from './door-counts.repository.ts';

/**
 * Door counters and their interval counts. The staff rule is applied when counting: the maintained
 * counts (`door.in`, `door.out`, site-wide) always equal `countedBuckets` of the raw rows kept
 * under the counter's current rule. Every write recomputes the whole days (site time zone) it
 * touches before and after the change and moves the counts by the difference, in the transaction
 * of the raw rows; a rule change does the same over all of the counter's intervals.
 */

export interface DoorCounter {
  id: number;
  key: string;
  name: string;
  rule: CounterRule;
  /** The zone the rule's days and opening hours are read in (the site's when the rule was last saved). */
  timeZone: string;
}

export function parseWeekHours(json: string | null): WeekHours | null {
  if (json === null) return null;
  return JSON.parse(json) as WeekHours;
}

export function toDoorCounter(row: DoorCounterRow): DoorCounter {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    rule: { staffPerDay: row.staff_per_day, openingHours: parseWeekHours(row.opening_hours) },
    timeZone: row.time_zone,
  };
}

export async function doorCounters(db: DB): Promise<DoorCounter[]> {
  return (await listDoorCounters(db)).map(toDoorCounter);
}

const asInterval = (r: DoorCountRow): IntervalCount => ({
  from: r.from_at,
  to: r.to_at,
  countIn: r.count_in,
  countOut: r.count_out,
});

/** The counts' change from `before` to `after` (buckets of one counter). */
export function doorDeltas(
  before: readonly CountedBucket[],
  after: readonly CountedBucket[],
  deltas = new CountDeltas(),
): CountDeltas {
  for (const [buckets, sign] of [
    [before, -1],
    [after, 1],
  ] as const) {
    for (const b of buckets) {
      for (const [minute, n] of b.minutes) deltas.atToTheMinute(SITE, 'door.in', minute, sign * n);
      if (b.out !== 0) deltas.at(SITE, 'door.out', b.bucket, sign * b.out);
    }
  }
  return deltas;
}

/** [from, to) widened to whole days of `timeZone`. */
export function wholeDays(from: number, to: number, timeZone: string): { from: number; to: number } {
  const first = startOfDay(dayOf(from, timeZone), timeZone);
  const last = startOfDay(addDays(dayOf(to - 1, timeZone), 1), timeZone);
  return { from: first, to: last };
}

export interface NewIntervalCount extends IntervalCount {
  counterId: number;
}

export class OverlapRefusal extends Error {
  readonly index: number;
  readonly other: { from: number; to: number };
  constructor(index: number, other: { from: number; to: number }) {
    super(`interval ${index} overlaps a stored interval`);
    this.index = index;
    this.other = other;
  }
}

/**
 * Stores interval counts (one transaction): new intervals are added, the same (counter, from, to)
 * again replaces the stored count (a correction), and the counts move by the difference. An
 * interval that overlaps a different stored or given interval of its counter would count people
 * twice: nothing is stored and OverlapRefusal says which.
 */
export async function recordDoorCounts(
  db: DB,
  counters: readonly DoorCounter[],
  items: readonly NewIntervalCount[],
  source: 'webhook' | 'csv',
  now = Date.now(),
): Promise<{ stored: number; replaced: number; unchanged: number }> {
  const result = { stored: 0, replaced: 0, unchanged: 0 };
  const byCounter = new Map<number, { index: number; item: NewIntervalCount }[]>();
  items.forEach((item, index) => {
    const list = byCounter.get(item.counterId) ?? [];
    list.push({ index, item });
    byCounter.set(item.counterId, list);
  });
  await db.transaction().execute(async (trx) => {
    const deltas = new CountDeltas();
    for (const [counterId, list] of [...byCounter.entries()].sort((a, b) => a[0] - b[0])) {
      const counter = counters.find((c) => c.id === counterId);
      if (!counter) throw new Error(`door counter ${counterId} not found`);
      await lockDoorCounter(trx, counterId);
      const range = wholeDays(
        Math.min(...list.map((x) => x.item.from)),
        Math.max(...list.map((x) => x.item.to)),
        counter.timeZone,
      );
      const before = await findDoorCountsOverlapping(trx, counterId, range.from, range.to);
      const given = new Map<string, number>();
      const writes: Omit<DoorCountRow, 'id'>[] = [];
      for (const { index, item } of list) {
        const key = `${item.from}:${item.to}`;
        if (given.has(key)) continue;
        given.set(key, index);
        const clash =
          before.find(
            (r) => r.from_at < item.to && r.to_at > item.from && !(r.from_at === item.from && r.to_at === item.to),
          ) ??
          list.find(
            (o) =>
              o.item.from < item.to && o.item.to > item.from && !(o.item.from === item.from && o.item.to === item.to),
          )?.item;
        if (clash) {
          const other =
            'from_at' in clash ? { from: clash.from_at, to: clash.to_at } : { from: clash.from, to: clash.to };
          throw new OverlapRefusal(index, other);
        }
        const old = before.find((r) => r.from_at === item.from && r.to_at === item.to);
        if (old?.count_in === item.countIn && old.count_out === item.countOut) {
          result.unchanged++;
          continue;
        }
        if (old) result.replaced++;
        else result.stored++;
        writes.push({
          counter_id: counterId,
          from_at: item.from,
          to_at: item.to,
          count_in: item.countIn,
          count_out: item.countOut,
          recorded_at: now,
          source,
        });
      }
      await upsertDoorCounts(trx, writes);
      const after = await findDoorCountsOverlapping(trx, counterId, range.from, range.to);
      doorDeltas(
        countedBuckets(before.map(asInterval), counter.rule, counter.timeZone, range),
        countedBuckets(after.map(asInterval), counter.rule, counter.timeZone, range),
        deltas,
      );
    }
    await addReportCounts(trx, deltas);
  });
  return result;
}

/** Every counted bucket of a counter, from its kept intervals: the direct count. */
export async function countCounterDirectly(db: DB | Transaction<Database>, counter: DoorCounter) {
  return countedBuckets(
    (await findDoorCountsOfCounter(db, counter.id)).map(asInterval),
    counter.rule,
    counter.timeZone,
  );
}

// ---------------------------------------------------------------------------------------
// Settings: counters and their rules

export const COUNTER_KEY = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export interface CounterInput {
  key: string;
  name: string;
  staffPerDay: number;
  openingHours: WeekHours | null;
  /** The site's time zone now: the rule's days and hours are read in it. */
  timeZone: string;
}

export async function addDoorCounter(
  db: DB,
  input: CounterInput,
  now = Date.now(),
): Promise<{ ok: true; counter: DoorCounter } | { ok: false; fields: Record<string, string> }> {
  const row = await insertDoorCounter(db, {
    key: input.key,
    name: input.name,
    staff_per_day: input.staffPerDay,
    opening_hours: input.openingHours ? JSON.stringify(input.openingHours) : null,
    time_zone: input.timeZone,
    created_at: now,
  });
  if (!row) return { ok: false, fields: { key: `A counter with the key "${input.key}" already exists.` } };
  return { ok: true, counter: toDoorCounter(row) };
}

/**
 * Renames a counter or changes its rule, read in the site's time zone now (`input.timeZone`); a
 * changed rule or zone recounts every kept interval of the counter (one transaction).
 */
export async function changeDoorCounter(
  db: DB,
  id: number,
  input: Omit<CounterInput, 'key'>,
): Promise<DoorCounter | undefined> {
  return db.transaction().execute(async (trx) => {
    await lockDoorCounter(trx, id);
    const row = await findDoorCounterById(trx, id);
    if (!row) return undefined;
    const old = toDoorCounter(row);
    const opening = input.openingHours ? JSON.stringify(input.openingHours) : null;
    await updateDoorCounter(trx, id, {
      name: input.name,
      staff_per_day: input.staffPerDay,
      opening_hours: opening,
      time_zone: input.timeZone,
    });
    const next: DoorCounter = {
      ...old,
      name: input.name,
      rule: { staffPerDay: input.staffPerDay, openingHours: input.openingHours },
      timeZone: input.timeZone,
    };
    if (JSON.stringify([old.rule, old.timeZone]) !== JSON.stringify([next.rule, next.timeZone])) {
      const rows = (await findDoorCountsOfCounter(trx, id)).map(asInterval);
      await addReportCounts(
        trx,
        doorDeltas(countedBuckets(rows, old.rule, old.timeZone), countedBuckets(rows, next.rule, next.timeZone)),
      );
    }
    return next;
  });
}

/** Removes a counter, its intervals and what they counted (one transaction). */
export async function removeDoorCounter(db: DB, id: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await lockDoorCounter(trx, id);
    const row = await findDoorCounterById(trx, id);
    if (!row) return false;
    await addReportCounts(trx, doorDeltas(await countCounterDirectly(trx, toDoorCounter(row)), []));
    await deleteDoorCounter(trx, id);
    return true;
  });
}
