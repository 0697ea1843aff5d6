import { sql } from 'kysely';
import type { DB } from '../../src/lib/db/database.ts';

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The maintained grains, finest first: the suffix of the metric and its bucket length (0: the total). */
const GRAINS = [
  { suffix: '', ms: QUARTER },
  { suffix: '~h', ms: HOUR },
  { suffix: '~d', ms: DAY },
  { suffix: '~t', ms: 0 },
] as const;

interface RawInterval {
  counter: number;
  from: number;
  to: number;
  in: number;
  out: number | null;
  staffPerDay: number;
  /** Seven [open, close) minute-of-day pairs or null, Monday first; null: no hours rule. */
  hours: ([number, number] | null)[] | null;
  timeZone: string;
}

/** The kept raw intervals with their counter's rule: one SQL query, nothing of the service's. */
async function rawIntervals(db: DB): Promise<RawInterval[]> {
  const { rows } = await sql<{
    counter_id: number;
    from_at: number;
    to_at: number;
    count_in: number;
    count_out: number | null;
    staff_per_day: number;
    opening_hours: string | null;
    time_zone: string;
  }>`select c.counter_id, c.from_at, c.to_at, c.count_in, c.count_out, d.staff_per_day, d.opening_hours, d.time_zone
     from door_counts c join door_counters d on d.id = c.counter_id order by c.counter_id, c.from_at`.execute(db);
  return rows.map((r) => ({
    counter: Number(r.counter_id),
    from: Number(r.from_at),
    to: Number(r.to_at),
    in: Number(r.count_in),
    out: r.count_out === null ? null : Number(r.count_out),
    staffPerDay: Number(r.staff_per_day),
    hours: r.opening_hours === null ? null : (JSON.parse(r.opening_hours) as RawInterval['hours']),
    timeZone: r.time_zone,
  }));
}

/** Monday = 0, the local day and the minute of the day of `at` in `timeZone`, read with Intl here (not the app's clock code). */
function localTime(at: number, timeZone: string): { weekday: number; day: string; minute: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return {
    weekday: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(parts.weekday!),
    day: `${parts.year}-${parts.month}-${parts.day}`,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/**
 * The door counts two ways, as sorted "metric@bucket=n": the maintained rows (`door.*` in
 * report_counts) and a direct count of the kept raw intervals, made here from the rows alone.
 *
 * The direct count needs no share-out: it is made at the finest grain (15 minutes, an hour, a
 * day) in which every kept interval lies inside one bucket, and compared at that grain and the
 * coarser ones. Each counter's rule is applied as the definitions page writes it: buckets outside
 * the opening hours count nothing (the hours must fall on the grain's edges), and the day's first
 * `staffPerDay` people in and out are not counted. The minute rows (`door.in~m`) cannot be
 * counted without the share-out; what they must add up to per bucket of the grain is compared
 * (`door.in~m/<grain>`). Anything the direct count cannot do throws, naming it.
 */
export async function doorFigures(db: DB): Promise<{ maintained: string[]; direct: string[] }> {
  const intervals = await rawIntervals(db);
  const grainAt = GRAINS.findIndex(
    (g) => g.ms === 0 || intervals.every((i) => Math.floor(i.from / g.ms) === Math.floor((i.to - 1) / g.ms)),
  );
  const grain = GRAINS[grainAt]!;
  const kept = GRAINS.slice(grainAt);
  const bucketOf = (at: number, ms: number) => (ms === 0 ? 0 : Math.floor(at / ms) * ms);

  // Per counter: its intervals' counts in the grain's buckets, the rule applied, earliest first.
  const direct = new Map<string, number>();
  const add = (key: string, n: number) => n !== 0 && direct.set(key, (direct.get(key) ?? 0) + n);
  for (const counter of new Set(intervals.map((i) => i.counter))) {
    const own = intervals.filter((i) => i.counter === counter);
    const { staffPerDay, hours, timeZone } = own[0]!;
    const byBucket = new Map<number, { in: number; out: number }>();
    for (const i of own) {
      const b = bucketOf(i.from, grain.ms);
      const entry = byBucket.get(b) ?? { in: 0, out: 0 };
      entry.in += i.in;
      entry.out += i.out ?? 0;
      byBucket.set(b, entry);
    }
    const allowance = new Map<string, { in: number; out: number }>();
    for (const [bucket, counts] of [...byBucket.entries()].sort((a, b) => a[0] - b[0])) {
      const local = localTime(bucket, timeZone);
      if (hours) {
        const step = grain.ms / MINUTE;
        if (hours.some((h) => h && (h[0] % step !== 0 || h[1] % step !== 0)) || grain.ms > HOUR)
          throw new Error(`doorFigures: opening hours off the ${grain.suffix || '15-minute'} grain's edges`);
        const open = hours[local.weekday];
        if (!open || local.minute < open[0] || local.minute >= open[1]) continue;
      }
      if (staffPerDay > 0) {
        if (grain.ms > HOUR) throw new Error('doorFigures: a staff rule needs intervals within an hour');
        const left = allowance.get(local.day) ?? { in: staffPerDay, out: staffPerDay };
        allowance.set(local.day, left);
        for (const side of ['in', 'out'] as const) {
          const taken = Math.min(left[side], counts[side]);
          left[side] -= taken;
          counts[side] -= taken;
        }
      }
      for (const g of kept) {
        add(`door.in${g.suffix}@${bucketOf(bucket, g.ms)}`, counts.in);
        add(`door.out${g.suffix}@${bucketOf(bucket, g.ms)}`, counts.out);
      }
      add(`door.in~m/${grain.suffix || 'q'}@${bucket}`, counts.in);
    }
  }

  const rows = await sql<{
    metric: string;
    bucket: number;
    n: number;
  }>`select metric, bucket, n from report_counts where issue_id = 0 and metric like 'door.%' and n <> 0`.execute(db);
  const maintained = new Map<string, number>();
  const keptSuffixes = new Set<string>(kept.map((g) => g.suffix));
  for (const r of rows.rows) {
    const [, base, suffix] = /^(door\.(?:in|out))(~[a-z])?$/.exec(r.metric) ?? [];
    if (!base) throw new Error(`doorFigures: unknown metric ${r.metric}`);
    const n = Number(r.n);
    const bucket = Number(r.bucket);
    if (suffix === '~m') {
      const key = `door.in~m/${grain.suffix || 'q'}@${bucketOf(bucket, grain.ms)}`;
      maintained.set(key, (maintained.get(key) ?? 0) + n);
    } else if (keptSuffixes.has(suffix ?? '')) maintained.set(`${r.metric}@${bucket}`, n);
  }
  const listed = (m: Map<string, number>) =>
    [...m.entries()]
      .filter(([, n]) => n !== 0)
      .map(([k, n]) => `${k}=${n}`)
      .sort();
  return { maintained: listed(maintained), direct: listed(direct) };
}

/** People counted in by intervals starting at or after `from`: a SQL sum of the raw rows (counters without a rule). */
export async function rawDoorIn(db: DB, from = 0): Promise<number> {
  const { rows } = await sql<{
    n: number | null;
  }>`select sum(count_in) as n from door_counts where from_at >= ${from}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * People counted in per weekday (Monday first) × local hour, from the raw intervals starting at
 * or after `from` and before `to`: each interval within one quarter hour (so within one local
 * hour in every real time zone), binned with Intl.
 */
export async function rawDoorInByWeekHour(db: DB, range: { from: number; to: number }, timeZone: string) {
  const { rows } = await sql<{
    from_at: number;
    to_at: number;
    count_in: number;
  }>`select from_at, to_at, count_in from door_counts where from_at >= ${range.from} and from_at < ${range.to}`.execute(
    db,
  );
  const matrix = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  for (const r of rows) {
    const from = Number(r.from_at);
    if (Math.floor(from / QUARTER) !== Math.floor((Number(r.to_at) - 1) / QUARTER))
      throw new Error('rawDoorInByWeekHour: an interval spans two quarter hours');
    const local = localTime(from, timeZone);
    matrix[local.weekday]![Math.floor(local.minute / 60)]! += Number(r.count_in);
  }
  return matrix;
}
