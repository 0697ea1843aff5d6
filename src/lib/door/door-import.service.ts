import type { DB } from '../db/database.ts';
import { planCsvImport, type CsvRowTally, type CsvShapeRejection } from '../csv/import-planner.ts';
import { readCsvHead, unguardFormula, type CsvHead, type CsvSource, type Delimiter } from '../csv/csv-reader.ts';
import { parseEventTime } from '../offline/event-time.ts';
import { EARLIEST_EVENT_AT } from '../offline/offline-events.ts';
import { doorCounters, recordDoorCounts, type DoorCounter, type NewIntervalCount } from './door-counts.service.ts';
import { findDoorCountsOverlapping } from './door-counts.repository.ts';
import { MAX_DOOR_COUNT, MAX_INTERVAL_MS } from './door-webhook.ts';

/**
 * A door counter's export imported through the CSV pipeline (csv/import-planner.ts): inspect →
 * plan (the dry run: exact counts, every rejected row with its reason) → apply (one transaction,
 * recordDoorCounts). A row is one interval: its start (`time`, a wall-clock time in the site's
 * time zone or ISO 8601 with an offset), its end (a column, or the start plus a fixed number of
 * minutes), people in and optionally out, and the counter (a column holding its key, or one
 * counter for the whole file). The same file again is "already imported"; a changed count for a
 * stored interval is a correction; an interval overlapping a different one of its counter (in
 * the database or earlier in the file) is rejected.
 */

export interface DoorColumnMapping {
  delimiter: Delimiter;
  /** Column of the interval's start. */
  time: number;
  /** Column of the interval's end, or the interval's length in minutes. */
  end: { column: number } | { minutes: number };
  in: number;
  out: number | null;
  /** Column of the counter's key, or the key of every row. */
  counter: number | string;
}

export type DoorRejection =
  CsvShapeRejection | 'bad_time' | 'bad_end' | 'bad_count' | 'unknown_counter' | 'future' | 'overlap' | 'duplicate';

export interface DoorImportPlan extends CsvRowTally<DoorRejection> {
  items: NewIntervalCount[];
  counts: { new: number; corrected: number; alreadyImported: number };
}

const PREVIEW_ROWS = 5;

export async function inspectDoorCsv(source: CsvSource, delimiter?: Delimiter) {
  return readCsvHead(source, PREVIEW_ROWS, delimiter);
}

/** A mapping guessed from the header: from/start/time, to/end, in/entries, out/exits, counter/door/sensor. */
export function suggestDoorMapping(head: CsvHead): Partial<Record<'time' | 'end' | 'in' | 'out' | 'counter', number>> {
  const find = (pattern: RegExp) => {
    const i = head.header.findIndex((h) => pattern.test(h.trim()));
    return i < 0 ? undefined : i;
  };
  return {
    time: find(/^(from|start|time|date ?time|timestamp|period start)$/i),
    end: find(/^(to|end|until|period end)$/i),
    in: find(/^(in|ins|entries|enters|entered|count in|people in|visitors)$/i),
    out: find(/^(out|outs|exits|exited|count out|people out)$/i),
    counter: find(/^(counter|door|sensor|device|entrance)$/i),
  };
}

function readCount(text: string | undefined): number | undefined {
  const t = (text ?? '').trim();
  if (!/^\d{1,6}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= MAX_DOOR_COUNT ? n : undefined;
}

/** The dry run: writes nothing. */
export async function planDoorImport(
  db: DB,
  source: CsvSource,
  mapping: DoorColumnMapping,
  options: { timeZone: string; now?: number },
): Promise<{ ok: true; value: DoorImportPlan } | { ok: false; error: string }> {
  const now = options.now ?? Date.now();
  const counters = await doorCounters(db);
  const byKey = new Map(counters.map((c) => [c.key, c]));
  const fixed = typeof mapping.counter === 'string' ? byKey.get(mapping.counter) : undefined;
  if (typeof mapping.counter === 'string' && !fixed)
    return { ok: false, error: `No counter “${mapping.counter}” in Settings → Door counters.` };
  const columns = [mapping.time, mapping.in];
  if ('column' in mapping.end) columns.push(mapping.end.column);
  if (mapping.out !== null) columns.push(mapping.out);
  if (typeof mapping.counter === 'number') columns.push(mapping.counter);
  const items: NewIntervalCount[] = [];
  const counts = { new: 0, corrected: 0, alreadyImported: 0 };
  const seen = new Map<string, { from: number; to: number; row: number }[]>();
  interface Checked {
    row: number;
    fields: string[];
    item: NewIntervalCount;
    counter: DoorCounter;
  }
  const planned = await planCsvImport<DoorRejection, Checked>(source, {
    delimiter: mapping.delimiter,
    checkMapping: (width) =>
      columns.some((c) => c >= width) ? 'The mapping names a column the file does not have.' : null,
    mappedColumns: columns,
    shortRows: 'mapped',
    chunkSize: 200,
    readRow: (fields, row, reject) => {
      const cell = (i: number) => unguardFormula(fields[i] ?? '').trim();
      const counter = fixed ?? byKey.get(cell(mapping.counter as number).toLowerCase());
      if (!counter) {
        reject(
          row,
          fields,
          'unknown_counter',
          `no counter “${cell(mapping.counter as number).slice(0, 40)}” in Settings`,
        );
        return undefined;
      }
      const from = parseEventTime(cell(mapping.time), options.timeZone);
      if (!from.ok) {
        reject(row, fields, 'bad_time', `the time: ${from.reason}`);
        return undefined;
      }
      let to: number;
      if ('column' in mapping.end) {
        const end = parseEventTime(cell(mapping.end.column), options.timeZone);
        if (!end.ok) {
          reject(row, fields, 'bad_end', `the end: ${end.reason}`);
          return undefined;
        }
        to = end.at;
      } else to = from.at + mapping.end.minutes * 60_000;
      if (to <= from.at || to - from.at > MAX_INTERVAL_MS) {
        reject(row, fields, 'bad_end', 'the end must be after the start and at most a day later');
        return undefined;
      }
      if (from.at < EARLIEST_EVENT_AT || to > now + 5 * 60_000) {
        reject(row, fields, 'future', from.at < EARLIEST_EVENT_AT ? 'before the year 2000' : 'ends in the future');
        return undefined;
      }
      const countIn = readCount(cell(mapping.in));
      const outText = mapping.out === null ? '' : cell(mapping.out);
      const countOut = outText === '' ? null : readCount(outText);
      if (countIn === undefined || countOut === undefined) {
        reject(row, fields, 'bad_count', `people in and out are whole numbers from 0 to ${MAX_DOOR_COUNT}`);
        return undefined;
      }
      const earlier = seen.get(String(counter.id)) ?? [];
      const clash = earlier.find((e) => e.from < to && e.to > from.at);
      if (clash) {
        const same = clash.from === from.at && clash.to === to;
        reject(
          row,
          fields,
          same ? 'duplicate' : 'overlap',
          same ? `the same interval as row ${clash.row}` : `overlaps the interval of row ${clash.row}`,
        );
        return undefined;
      }
      earlier.push({ from: from.at, to, row });
      seen.set(String(counter.id), earlier);
      return { row, fields, counter, item: { counterId: counter.id, from: from.at, to, countIn, countOut } };
    },
    checkChunk: async (chunk, reject) => {
      // One query per counter and chunk: the stored intervals overlapping the chunk's span.
      const stored = new Map<number, Awaited<ReturnType<typeof findDoorCountsOverlapping>>>();
      for (const counterId of new Set(chunk.map((c) => c.item.counterId))) {
        const mine = chunk.filter((c) => c.item.counterId === counterId).map((c) => c.item);
        const from = Math.min(...mine.map((i) => i.from));
        const to = Math.max(...mine.map((i) => i.to));
        stored.set(counterId, await findDoorCountsOverlapping(db, counterId, from, to));
      }
      for (const { row, fields, item } of chunk) {
        const overlapping = stored.get(item.counterId)!.filter((s) => s.from_at < item.to && s.to_at > item.from);
        const same = overlapping.find((s) => s.from_at === item.from && s.to_at === item.to);
        if (overlapping.some((s) => s !== same)) {
          reject(row, fields, 'overlap', 'overlaps an interval of this counter already stored');
          continue;
        }
        if (same?.count_in === item.countIn && same.count_out === item.countOut) counts.alreadyImported++;
        else {
          if (same) counts.corrected++;
          else counts.new++;
          items.push(item);
        }
      }
    },
  });
  if (!planned.ok) return planned;
  return { ok: true, value: { ...planned.value, items, counts } };
}

/** Writes a plan's new and corrected intervals in one transaction (the counts move with them). */
export async function applyDoorImport(
  db: DB,
  plan: DoorImportPlan,
  options: { timeZone: string; now?: number },
): Promise<{ stored: number; replaced: number; unchanged: number }> {
  if (plan.items.length === 0) return { stored: 0, replaced: 0, unchanged: 0 };
  return recordDoorCounts(db, await doorCounters(db), plan.items, 'csv', options.now);
}

// ---------------------------------------------------------------------------------------
// The mapping as form fields (the dry run is a GET that can be reloaded; the import a POST of the same fields):
//   delimiter=comma|semicolon|tab  time=<column>  end=<column>|min:<minutes>  in=<column>  out=<column>|""
//   counter=<column>|key:<counter key>

const DELIMITER_NAMES: Record<string, Delimiter> = { comma: ',', semicolon: ';', tab: '\t' };
const COLUMN = /^\d{1,4}$/;

export function doorMappingFromFields(
  fields: Record<string, string | null | undefined>,
): DoorColumnMapping | undefined {
  const delimiter = DELIMITER_NAMES[fields.delimiter ?? ''];
  const col = (v: string | null | undefined) => (v && COLUMN.test(v) ? Number(v) : undefined);
  const time = col(fields.time);
  const countIn = col(fields.in);
  const out = fields.out ? col(fields.out) : null;
  const minutes = /^min:(\d{1,4})$/.exec(fields.end ?? '');
  const end =
    minutes && Number(minutes[1]) >= 1 && Number(minutes[1]) <= 1440
      ? { minutes: Number(minutes[1]) }
      : col(fields.end) !== undefined
        ? { column: col(fields.end)! }
        : undefined;
  const key = /^key:([a-z0-9][a-z0-9_-]{0,39})$/.exec(fields.counter ?? '');
  const counter = key ? key[1]! : col(fields.counter);
  if (!delimiter || time === undefined || countIn === undefined || out === undefined || !end || counter === undefined)
    return undefined;
  return { delimiter, time, end, in: countIn, out, counter };
}

export function doorMappingToFields(mapping: DoorColumnMapping): Record<string, string> {
  return {
    delimiter: mapping.delimiter === ';' ? 'semicolon' : mapping.delimiter === '\t' ? 'tab' : 'comma',
    time: String(mapping.time),
    end: 'column' in mapping.end ? String(mapping.end.column) : `min:${mapping.end.minutes}`,
    in: String(mapping.in),
    out: mapping.out === null ? '' : String(mapping.out),
    counter: typeof mapping.counter === 'string' ? `key:${mapping.counter}` : String(mapping.counter),
  };
}

export const DOOR_REJECTION_LABELS: Record<DoorRejection, string> = {
  not_utf8: 'Not UTF-8 text',
  missing_columns: 'Missing columns',
  bad_time: 'Start is not a time',
  bad_end: 'End is not after the start (or more than a day later)',
  bad_count: 'People in or out is not a whole number',
  unknown_counter: 'Counter not named in Settings',
  future: 'In the future (or before 2000)',
  overlap: 'Overlaps another interval of the counter',
  duplicate: 'The same interval as an earlier row',
};
