import { createHash } from 'node:crypto';
import { stringify } from 'csv-stringify/sync';
import type { DB } from '../db/database.ts';
import {
  type ExtraColumns,
  DELIMITERS,
  keptValue,
  readCsvHead,
  unguardFormula,
  type CsvSource,
  type Delimiter,
} from '../csv/csv-reader.ts';
import { planCsvImport, type RejectedCsvRow } from '../csv/import-planner.ts';
import { parseEventTime } from './event-time.ts';
import {
  cleanNote,
  EARLIEST_EVENT_AT,
  MAX_CLOCK_SKEW_MS,
  MAX_NOTE_LENGTH,
  type OfflineEventKind,
} from './offline-events.ts';
import { findExistingClientIds, insertOfflineEventsIfNew, type NewOfflineEvent } from './offline-events.repository.ts';
import { findIssueIdsBySlugs, isIssueSlug } from './issue-credit.ts';
import { offlineEventDeltas } from './offline-counts.ts';
import { addReportCounts } from '../counts/ledger.ts';

/**
 * CSV import of offline events (a phone system's call log, a visitor book typed into a
 * spreadsheet), in the same three steps as the subscriber import:
 *
 * 1. `inspectOfflineCsv` — header, first rows, delimiter, a suggested mapping.
 * 2. `planOfflineImport` — the dry run: every row read (streaming) and checked, exact counts,
 *                          every rejected row with its reason. Writes nothing.
 * 3. `applyOfflineImport` — writes the plan in one transaction.
 *
 * Columns: time (required), kind (a column, or one kind for every row), note, issue slug and
 * "mentioned the newsletter" (optional). Times are ISO 8601 with an offset, or "YYYY-MM-DD HH:mm"
 * in the site's time zone (DST-correct).
 *
 * Importing the same rows twice stores them once: each row gets a key made of its time, kind,
 * note and issue, and how many identical rows came before it in the file. Two identical rows in
 * one file are two events (two people can walk in the same minute); the same file, or an export
 * that overlaps an earlier one, adds only what is new, and the dry run counts the rest as
 * already imported.
 */

export interface OfflineColumnMapping {
  delimiter: Delimiter;
  /** Column index of the time. */
  time: number;
  /** Column index of the kind, or the kind of every row. */
  kind: number | OfflineEventKind;
  note: number | null;
  issue: number | null;
  mentioned: number | null;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export interface OfflinePreview {
  delimiter: Delimiter;
  header: string[];
  rows: string[][];
  suggested: {
    time: number | null;
    kind: number | null;
    note: number | null;
    issue: number | null;
    mentioned: number | null;
  };
}

export type OfflineRejectionCode =
  | 'not_utf8'
  | 'missing_columns'
  | 'bad_time'
  | 'future_time'
  | 'unknown_kind'
  | 'bad_issue'
  | 'unknown_issue'
  | 'bad_mentioned'
  | 'already_imported';

export const REJECTION_LABELS: Record<OfflineRejectionCode, string> = {
  not_utf8: 'not UTF-8 text',
  missing_columns: 'missing columns',
  bad_time: 'bad time',
  future_time: 'time in the future',
  unknown_kind: 'unknown kind',
  bad_issue: 'not an issue slug',
  unknown_issue: 'unknown issue slug',
  bad_mentioned: 'bad "mentioned" value',
  already_imported: 'already imported (duplicate)',
};

export type OfflineRejectedRow = RejectedCsvRow<OfflineRejectionCode>;

export interface OfflineImportCounts {
  /** Data rows read (not the header), blank ones included. */
  rows: number;
  /** Rows that will be stored. */
  import: number;
  call: number;
  walk_in: number;
  /** Of those, rows identical to an earlier row of the file (imported as events of their own). */
  identical_in_file: number;
  /** Of those, rows credited to an issue (by its slug). */
  with_issue: number;
  rejected: number;
  blank: number;
}

export interface OfflineImportPlan {
  mapping: OfflineColumnMapping;
  timeZone: string;
  plannedAt: number;
  counts: OfflineImportCounts;
  rejectedBy: Partial<Record<OfflineRejectionCode, number>>;
  /** Every rejected row in file order (up to MAX_REJECTED_KEPT; the counts are exact beyond that). */
  rejected: OfflineRejectedRow[];
  /** Rows with values past the header's last column: imported from their mapped columns, the extras ignored (a warning). */
  extraColumns: ExtraColumns;
  writes: Omit<NewOfflineEvent, 'recorded_at' | 'recorded_by'>[];
}

export const PREVIEW_ROWS = 10;
const LOOKUP_CHUNK = 500;
const MAX_REJECTED_KEPT = 20_000;

// ---------------------------------------------------------------------------------------
// Step 1: inspect

const headerKey = (value: string) =>
  value
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');

const TIME_HEADERS = [
  'time',
  'datetime',
  'timestamp',
  'when',
  'at',
  'date',
  'calltime',
  'starttime',
  'start',
  'startedat',
  'occurredat',
  'visittime',
  'zeit',
  'heure',
];
const KIND_HEADERS = ['kind', 'type', 'eventtype', 'event', 'category', 'what'];
const NOTE_HEADERS = ['note', 'notes', 'comment', 'comments', 'description', 'memo', 'details', 'remark', 'remarks'];
const ISSUE_HEADERS = ['issue', 'issueslug', 'slug', 'newsletterissue', 'campaign', 'utmcampaign'];
const MENTIONED_HEADERS = [
  'mentioned',
  'mentionednewsletter',
  'mentionedthenewsletter',
  'saidnewsletter',
  'fromnewsletter',
  'newsletter',
];

function findColumn(keys: readonly string[], names: readonly string[], taken: ReadonlySet<number>): number | null {
  let found: number | null = null;
  let rank = Infinity;
  keys.forEach((key, index) => {
    const r = names.indexOf(key);
    if (r !== -1 && r < rank && !taken.has(index)) {
      rank = r;
      found = index;
    }
  });
  return found;
}

export function suggestOfflineMapping(
  header: readonly string[],
  rows: readonly string[][],
  timeZone: string,
): OfflinePreview['suggested'] {
  const keys = header.map(headerKey);
  const taken = new Set<number>();
  const take = (index: number | null) => {
    if (index !== null) taken.add(index);
    return index;
  };
  let time = take(findColumn(keys, TIME_HEADERS, taken));
  if (time === null && rows.length > 0) {
    // No telling header: the column whose values read as times.
    const scores = header.map((_, i) => rows.filter((r) => parseEventTime(r[i] ?? '', timeZone).ok).length);
    const top = Math.max(...scores);
    if (top > rows.length / 2) time = take(scores.indexOf(top));
  }
  const kind = take(findColumn(keys, KIND_HEADERS, taken));
  const note = take(findColumn(keys, NOTE_HEADERS, taken));
  const issue = take(findColumn(keys, ISSUE_HEADERS, taken));
  const mentioned = take(findColumn(keys, MENTIONED_HEADERS, taken));
  return { time, kind, note, issue, mentioned };
}

/** Header, the first rows and a suggested mapping; reads only the beginning of the file. */
export async function inspectOfflineCsv(
  source: CsvSource,
  timeZone: string,
  delimiter?: Delimiter,
): Promise<Result<OfflinePreview>> {
  const head = await readCsvHead(source, PREVIEW_ROWS, delimiter);
  if (!head.ok) return head;
  const { header, rows } = head.value;
  return { ok: true, value: { ...head.value, suggested: suggestOfflineMapping(header, rows, timeZone) } };
}

// ---------------------------------------------------------------------------------------
// Step 2: plan (the dry run)

const KIND_WORDS: Record<string, OfflineEventKind> = {
  call: 'call',
  calls: 'call',
  phone: 'call',
  phonecall: 'call',
  telephone: 'call',
  telephonecall: 'call',
  walkin: 'walk_in',
  walkins: 'walk_in',
  visit: 'walk_in',
  visitor: 'walk_in',
  instore: 'walk_in',
  storevisit: 'walk_in',
};

/** "Phone call", "CALL", "walk-in", "Walk in", "visit" → the kind; undefined for anything else. */
export function parseKind(value: string): OfflineEventKind | undefined {
  return KIND_WORDS[value.toLowerCase().replace(/[^a-z]/g, '')];
}

/** yes/no/empty → 1/0/null; undefined when it is something else. */
export function parseMentioned(value: string): number | null | undefined {
  const v = value.trim().toLowerCase();
  if (v === '') return null;
  if (['yes', 'y', 'true', '1', 'x', 'ja', 'oui', 'si', 'sí', '✓', '✔'].includes(v)) return 1;
  if (['no', 'n', 'false', '0', 'nein', 'non'].includes(v)) return 0;
  return undefined;
}

export function validateOfflineMapping(mapping: OfflineColumnMapping, width: number): string | null {
  if (!DELIMITERS.includes(mapping.delimiter)) return 'Choose comma, semicolon or tab as the delimiter.';
  const inRange = (i: number | null) => i === null || (Number.isInteger(i) && i >= 0 && i < width);
  if (typeof mapping.time !== 'number' || !inRange(mapping.time)) return 'Choose the column that holds the time.';
  if (typeof mapping.kind === 'number' ? !inRange(mapping.kind) : mapping.kind !== 'call' && mapping.kind !== 'walk_in')
    return 'Choose the column that holds the kind, or one kind for every row.';
  if (!inRange(mapping.note) || !inRange(mapping.issue) || !inRange(mapping.mentioned))
    return 'A mapped column is not in the file.';
  return null;
}

/** The row's import key: time, kind, note, issue and how many identical rows came before it in this file. */
function rowKey(at: number, kind: string, note: string | null, slug: string | null, occurrence: number): string {
  return (
    'csv:' +
    createHash('sha256')
      .update(`${at}\0${kind}\0${note ?? ''}\0${slug ?? ''}\0${occurrence}`)
      .digest('hex')
      .slice(0, 40)
  );
}

interface PendingRow {
  row: number;
  values: string[];
  write: OfflineImportPlan['writes'][number];
  slug: string | null;
}

/**
 * The dry run: reads every row (streaming), checks it and counts exactly; writes nothing.
 * File-level problems (an unclosed quote, an unreadable file, a mapping outside the header)
 * come back as an error; row-level problems as rejected rows.
 */
export async function planOfflineImport(
  db: DB,
  source: CsvSource,
  mapping: OfflineColumnMapping,
  options: { timeZone: string },
  now = Date.now(),
): Promise<Result<OfflineImportPlan>> {
  const checked = { import: 0, call: 0, walk_in: 0, identical_in_file: 0, with_issue: 0 };
  const writes: OfflineImportPlan['writes'] = [];
  const occurrences = new Map<string, number>();
  const issueIds = new Map<string, number | null>();

  const read = await planCsvImport<OfflineRejectionCode, PendingRow>(source, {
    delimiter: mapping.delimiter,
    checkMapping: (width) => validateOfflineMapping(mapping, width),
    mappedColumns: [mapping.time, mapping.kind, mapping.note, mapping.issue, mapping.mentioned].filter(
      (i): i is number => typeof i === 'number',
    ),
    shortRows: 'mapped',
    chunkSize: LOOKUP_CHUNK,
    maxRejectedKept: MAX_REJECTED_KEPT,
    readRow(fields, row, reject) {
      const cell = (i: number | null) => (i === null ? '' : unguardFormula(fields[i] ?? ''));
      const time = parseEventTime(cell(mapping.time), options.timeZone);
      if (!time.ok) {
        reject(row, fields, 'bad_time', `bad time: ${time.reason}`);
        return;
      }
      if (time.at > now + MAX_CLOCK_SKEW_MS) {
        reject(row, fields, 'future_time', 'the time is in the future');
        return;
      }
      if (time.at < EARLIEST_EVENT_AT) {
        reject(row, fields, 'bad_time', 'bad time: before the year 2000');
        return;
      }
      let kind: OfflineEventKind;
      if (typeof mapping.kind === 'number') {
        const parsed = parseKind(cell(mapping.kind));
        if (!parsed) {
          const raw = cell(mapping.kind).trim();
          reject(
            row,
            fields,
            'unknown_kind',
            raw === ''
              ? 'no kind (use "call" or "walk-in")'
              : `unknown kind "${keptValue(raw, 40)}" (use "call" or "walk-in")`,
          );
          return;
        }
        kind = parsed;
      } else kind = mapping.kind;
      let slug: string | null = null;
      if (mapping.issue !== null && cell(mapping.issue).trim() !== '') {
        slug = cell(mapping.issue).trim().toLowerCase();
        if (!isIssueSlug(slug)) {
          reject(
            row,
            fields,
            'bad_issue',
            `not an issue slug: "${keptValue(slug, 60)}" (lower-case letters, digits and dashes)`,
          );
          return;
        }
      }
      let mentioned: number | null = null;
      if (mapping.mentioned !== null) {
        const parsed = parseMentioned(cell(mapping.mentioned));
        if (parsed === undefined) {
          reject(
            row,
            fields,
            'bad_mentioned',
            `"mentioned the newsletter" must be yes, no or empty, not "${keptValue(cell(mapping.mentioned), 40)}"`,
          );
          return;
        }
        mentioned = parsed;
      }
      let note = cleanNote(cell(mapping.note));
      if (note && note.length > MAX_NOTE_LENGTH) note = note.slice(0, MAX_NOTE_LENGTH - 1) + '…';

      const identity = `${time.at}\0${kind}\0${note ?? ''}\0${slug ?? ''}`;
      const occurrence = occurrences.get(identity) ?? 0;
      occurrences.set(identity, occurrence + 1);
      if (occurrence > 0) checked.identical_in_file++;
      return {
        row,
        values: fields,
        slug,
        write: {
          kind,
          at: time.at,
          source: 'csv',
          mentioned_newsletter: mentioned,
          note,
          issue_id: null,
          client_id: rowKey(time.at, kind, note, slug, occurrence),
        },
      };
    },
    // The database's checks: rows imported before, and issue slugs.
    async checkChunk(chunk, reject) {
      const existing = new Set(
        await findExistingClientIds(
          db,
          chunk.map((p) => p.write.client_id!),
        ),
      );
      const unknown = chunk.map((p) => p.slug).filter((s): s is string => s !== null && !issueIds.has(s));
      if (unknown.length > 0) {
        const found = await findIssueIdsBySlugs(db, unknown);
        for (const slug of unknown) issueIds.set(slug, found.get(slug) ?? null);
      }
      for (const p of chunk) {
        if (existing.has(p.write.client_id!)) {
          reject(
            p.row,
            p.values,
            'already_imported',
            'already imported: the same time, kind, note and issue as an event imported before',
          );
          continue;
        }
        if (p.slug !== null) {
          const issueId = issueIds.get(p.slug);
          if (!issueId) {
            reject(p.row, p.values, 'unknown_issue', `unknown issue slug "${p.slug}" (no issue has it)`);
            continue;
          }
          p.write.issue_id = issueId;
        }
        checked.import++;
        checked[p.write.kind]++;
        if (p.slug !== null) checked.with_issue++;
        writes.push(p.write);
      }
    },
  });
  if (!read.ok) return read;
  const { rows, blank, rejected, rejectedBy, rejectedRows, extraColumns } = read.value;
  return {
    ok: true,
    value: {
      mapping,
      timeZone: options.timeZone,
      plannedAt: now,
      counts: { rows, ...checked, rejected, blank },
      rejectedBy,
      rejected: rejectedRows,
      extraColumns,
      writes,
    },
  };
}

// ---------------------------------------------------------------------------------------
// Step 3: apply

/**
 * Writes the plan in one transaction (all or nothing), recorded by `userId` at `now`. A row
 * stored since the dry run (the same file imported twice at once) is skipped, not doubled.
 */
export async function applyOfflineImport(
  db: DB,
  plan: OfflineImportPlan,
  input: { userId: number },
  now = Date.now(),
): Promise<{ imported: number; skipped: number }> {
  let imported = 0;
  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < plan.writes.length; start += LOOKUP_CHUNK) {
      const rows = plan.writes
        .slice(start, start + LOOKUP_CHUNK)
        .map((w) => ({ ...w, recorded_at: now, recorded_by: input.userId }));
      const inserted = await insertOfflineEventsIfNew(trx, rows);
      await addReportCounts(trx, offlineEventDeltas(inserted, 1));
      imported += inserted.length;
    }
  });
  return { imported, skipped: plan.writes.length - imported };
}

// ---------------------------------------------------------------------------------------
// The report

/** Every rejected row and why, as CSV (`row,reason,raw`); `raw` is the row re-written with the file's delimiter. */
export function offlineRejectedRowsCsv(plan: Pick<OfflineImportPlan, 'rejected' | 'mapping'>): string {
  const rows = plan.rejected.map((r) => [
    r.row,
    r.reason,
    stringify([r.values], { delimiter: plan.mapping.delimiter, eof: false }),
  ]);
  return stringify(rows, { header: true, columns: ['row', 'reason', 'raw'], escape_formulas: true });
}
