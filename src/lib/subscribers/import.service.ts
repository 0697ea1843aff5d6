import { stringify } from 'csv-stringify/sync';
import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import {
  type ExtraColumns,
  DELIMITERS,
  readCsvHead,
  unguardFormula as unguard,
  type CsvSource,
  type Delimiter,
} from '../csv/csv-reader.ts';
import { planCsvImport, type RejectedCsvRow } from '../csv/import-planner.ts';
import { emailHash, normalizeEmail } from './email-address.ts';
import { cleanName, type Result } from './subscribers.service.ts';
import { TOPICS, parseTopics, type TopicId } from './topics.ts';
import { PHONE_ERROR, readPhoneField } from './phone.service.ts';
import { setPhoneHashes } from './subscribers.repository.ts';
import {
  findSubscribersByEmails,
  findSuppressedHashes,
  insertSubscriberEvents,
  insertSubscribers,
  insertTopicsIfMissing,
  type ExistingSubscriber,
} from './import.repository.ts';

/**
 * CSV import of subscribers, in three steps the admin drives:
 *
 * 1. `inspectCsv`  — header, first rows, delimiter and a suggested column mapping.
 * 2. `planImport`  — the dry run: every row read (streaming) and classified, exact counts,
 *                    every rejected row with its reason. Writes nothing.
 * 3. `applyImport` — writes the plan in one transaction (all or nothing), chunk by chunk.
 *
 * Rules (the same as adding one person by hand, `addConfirmedSubscriber`):
 * - an address on the suppression list (bounced, complained, erased, manual) is never added;
 * - an existing unsubscribed/bounced/complained subscriber is never reactivated nor changed;
 * - an existing active or pending subscriber gets the file's topics added (a union) and
 *   nothing else changes — a pending one stays pending until they confirm themselves;
 * - an address seen earlier in the file is merged into its first occurrence (topics
 *   unioned, the first non-empty name kept) and counted as a duplicate;
 * - unknown topics do not reject a row: the row is imported with its known topics and the
 *   unknown values are listed in the plan (`unknownTopics`) so the dry run shows them.
 *   A foreign export's tags ("VIP", "2019 fair") should not cost a consenting person their
 *   place on the list; the marketer sees them before applying and can edit the file.
 */

// The reading itself (streaming, delimiter detection, file-level errors) is shared: src/lib/csv/csv-reader.ts.
export { DELIMITERS, detectDelimiter, type CsvSource, type Delimiter } from '../csv/csv-reader.ts';

/** Which column (0-based index into the header) holds what. */
export interface ColumnMapping {
  delimiter: Delimiter;
  email: number;
  name: number | null;
  topics: number | null;
  /** A phone number column (kept only as a keyed hash); absent or null for none. */
  phone?: number | null;
}

export interface CsvPreview {
  delimiter: Delimiter;
  header: string[];
  /** The first data rows as read (short and long rows as they are). */
  rows: string[][];
  /** What the header names suggest; `email` is null when no column looks like one. */
  suggested: {
    delimiter: Delimiter;
    email: number | null;
    name: number | null;
    topics: number | null;
    phone: number | null;
  };
}

export type RejectionCode =
  'not_utf8' | 'missing_columns' | 'missing_email' | 'header_injection' | 'invalid_email' | 'invalid_phone';

export interface RejectedRow extends RejectedCsvRow<RejectionCode> {
  /** The email column's value as found (may be empty), cut at 1,000 characters. */
  email: string;
}

export interface ImportCounts {
  /** Data rows read (the header not included); the sum of the counts below. */
  rows: number;
  add: number;
  merge: number;
  kept_unsubscribed: number;
  suppressed: number;
  duplicate_in_file: number;
  rejected: number;
  /** Empty lines, skipped silently. */
  blank: number;
}

export interface ImportPlan {
  mapping: ColumnMapping;
  plannedAt: number;
  counts: ImportCounts;
  rejectedBy: Partial<Record<RejectionCode, number>>;
  rejected: RejectedRow[];
  /** Unknown topic value → rows naming it (at most 100 distinct values are listed). */
  unknownTopics: Record<string, number>;
  /** A warning, not a refusal: those rows are imported from their mapped columns. */
  extraColumns: ExtraColumns;
  /**
   * What `applyImport` writes: the addresses classified `add` or `merge`, in file order, as
   * parallel arrays (compact: 100,000 rows are a few MB). `topics` is a bit mask over `TOPICS`.
   * Apply checks each again inside its transaction, so a stale plan can only do less, never more.
   * Keep the plan on the server; it is not meant to travel through a browser.
   */
  writes: { emails: string[]; names: (string | null)[]; topics: number[]; phones?: (string | null)[] };
}

export interface ImportOutcome {
  added: number;
  merged: number;
  kept_unsubscribed: number;
  suppressed: number;
}

export type ImportProgress = (progress: { done: number; total: number }) => void | Promise<void>;

export const PREVIEW_ROWS = 10;
/** Addresses per database round trip, while planning and while applying. */
export const IMPORT_CHUNK = 1000;
const MAX_UNKNOWN_TOPICS = 100;
const MAX_CONSENT_NOTE = 500;

// ---------------------------------------------------------------------------------------
// Step 1: inspect

const headerKey = (value: string) =>
  value
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');

const EMAIL_HEADERS = [
  'email',
  'emailaddress',
  'mail',
  'mailaddress',
  'emailaddr',
  'subscriberemail',
  'contactemail',
  'emailadresse',
  'courriel',
  'correo',
  'correoelectronico',
];
const NAME_HEADERS = [
  'name',
  'fullname',
  'displayname',
  'subscribername',
  'contactname',
  'firstname',
  'givenname',
  'forename',
  'vorname',
  'prenom',
];
const TOPIC_HEADERS = [
  'topics',
  'topic',
  'tags',
  'tag',
  'interests',
  'interest',
  'groups',
  'group',
  'lists',
  'list',
  'segments',
  'segment',
  'categories',
  'category',
];

const PHONE_HEADERS = [
  'phone',
  'phonenumber',
  'telephone',
  'tel',
  'mobile',
  'mobilephone',
  'mobilenumber',
  'cell',
  'cellphone',
];

/** The header best matching one of `names` (earlier names win), else one containing `fallback`. */
function findColumn(
  keys: readonly string[],
  names: readonly string[],
  fallback?: (key: string) => boolean,
): number | null {
  let found: number | null = null;
  let rank = Infinity;
  keys.forEach((key, index) => {
    const r = names.indexOf(key);
    if (r !== -1 && r < rank) {
      rank = r;
      found = index;
    }
  });
  if (found !== null || !fallback) return found;
  const index = keys.findIndex(fallback);
  return index === -1 ? null : index;
}

export function suggestMapping(
  header: readonly string[],
  rows: readonly string[][],
  delimiter: Delimiter,
): CsvPreview['suggested'] {
  const keys = header.map(headerKey);
  let email = findColumn(keys, EMAIL_HEADERS, (k) => k.includes('email'));
  if (email === null && rows.length > 0) {
    // No telling header: the column whose values look like addresses.
    const scores = header.map((_, i) => rows.filter((r) => /^[^@\s]+@[^@\s]+$/.test((r[i] ?? '').trim())).length);
    const top = Math.max(...scores);
    if (top > rows.length / 2) email = scores.indexOf(top);
  }
  const name = findColumn(
    keys,
    NAME_HEADERS,
    (k) => k.includes('name') && !/(last|sur|family|user|company|file)name/.test(k) && k !== 'emailname',
  );
  const topics = findColumn(keys, TOPIC_HEADERS);
  const phone = findColumn(keys, PHONE_HEADERS);
  return {
    delimiter,
    email,
    name: name === email ? null : name,
    topics: topics === email ? null : topics,
    phone: phone === email ? null : phone,
  };
}

/** Header, the first rows and a suggested mapping; reads only the beginning of the file. The delimiter is detected unless given. */
export async function inspectCsv(source: CsvSource, delimiter?: Delimiter): Promise<Result<CsvPreview>> {
  const head = await readCsvHead(source, PREVIEW_ROWS, delimiter);
  if (!head.ok) return head;
  const { header, rows } = head.value;
  return { ok: true, value: { ...head.value, suggested: suggestMapping(header, rows, head.value.delimiter) } };
}

// ---------------------------------------------------------------------------------------
// Step 2: plan (the dry run)

const TOPIC_BITS = new Map<string, number>(TOPICS.map((t, i) => [t.id, 1 << i]));

export function topicMask(topics: readonly TopicId[]): number {
  let mask = 0;
  for (const topic of topics) mask |= TOPIC_BITS.get(topic) ?? 0;
  return mask;
}

export function topicsOfMask(mask: number): TopicId[] {
  return TOPICS.filter((_, i) => mask & (1 << i)).map((t) => t.id);
}

function validateMapping(mapping: ColumnMapping, width: number): string | null {
  if (!DELIMITERS.includes(mapping.delimiter)) return 'Choose comma, semicolon or tab as the delimiter.';
  const inRange = (i: number | null) => i === null || (Number.isInteger(i) && i >= 0 && i < width);
  if (!inRange(mapping.email)) return 'Choose the column that holds the email addresses.';
  if (!inRange(mapping.name) || !inRange(mapping.topics) || !inRange(mapping.phone ?? null))
    return 'A mapped column is not in the file.';
  return null;
}

interface PlannedAddress {
  email: string;
  name: string | null;
  topics: number;
  /** The phone column's keyed hash; null when the row has none. */
  phone: string | null;
  kind: 'unchecked' | 'add' | 'merge' | 'kept_unsubscribed' | 'suppressed';
}

/** Where an address goes, by the same rules as adding one person by hand. */
function classify(
  existing: ExistingSubscriber | undefined,
  suppressed: boolean,
): 'add' | 'merge' | 'kept_unsubscribed' | 'suppressed' {
  if (suppressed) return 'suppressed';
  if (!existing) return 'add';
  return existing.status === 'active' || existing.status === 'pending' ? 'merge' : 'kept_unsubscribed';
}

/** Looks a chunk of addresses up: the subscribers by address, the suppression list by hash. */
async function lookUp(db: DB | Transaction<Database>, emails: readonly string[]) {
  const hashes = emails.map(emailHash);
  const [existing, suppressed] = await Promise.all([
    findSubscribersByEmails(db, emails),
    findSuppressedHashes(db, hashes),
  ]);
  const byEmail = new Map(existing.map((s) => [s.email, s]));
  const suppressedSet = new Set(suppressed);
  return emails.map((email, i) => ({
    existing: byEmail.get(email),
    classification: classify(byEmail.get(email), suppressedSet.has(hashes[i]!)),
  }));
}

/**
 * The dry run: reads every row (streaming), classifies it and counts exactly; writes nothing.
 * File-level problems (a quote never closed, an unreadable file, a mapping outside the
 * header) come back as an error; row-level problems as rejected rows.
 */
export async function planImport(
  db: DB,
  source: CsvSource,
  mapping: ColumnMapping,
  now = Date.now(),
  options: { phoneKey?: string } = {},
): Promise<Result<ImportPlan>> {
  const phoneColumn = mapping.phone ?? null;
  if (phoneColumn !== null && !options.phoneKey) return { ok: false, error: 'Phone numbers cannot be imported here.' };
  const classified = { add: 0, merge: 0, kept_unsubscribed: 0, suppressed: 0, duplicate_in_file: 0 };
  const unknownTopics = new Map<string, number>();
  const seen = new Map<string, PlannedAddress>();
  const ordered: PlannedAddress[] = [];

  const read = await planCsvImport<RejectionCode, PlannedAddress>(source, {
    delimiter: mapping.delimiter,
    checkMapping: (width) => validateMapping(mapping, width),
    mappedColumns: [mapping.email, mapping.name, mapping.topics, phoneColumn].filter((i): i is number => i !== null),
    shortRows: 'whole',
    chunkSize: IMPORT_CHUNK,
    readRow(fields, row, reject) {
      const rawEmail = unguard(fields[mapping.email]!);
      if (rawEmail.trim() === '') {
        reject(row, fields, 'missing_email', 'no email address');
        return;
      }
      if (/[\r\n\0]/.test(rawEmail)) {
        reject(row, fields, 'header_injection', 'line break inside the email address (header injection attempt)');
        return;
      }
      const checked = normalizeEmail(rawEmail);
      if (!checked.ok) {
        reject(row, fields, 'invalid_email', checked.error);
        return;
      }

      let topics = 0;
      if (mapping.topics !== null) {
        const parsed = parseTopics(unguard(fields[mapping.topics]!).split(/[\s,;|]+/));
        topics = topicMask(parsed.topics);
        for (const unknown of parsed.unknown) {
          const rows = unknownTopics.get(unknown);
          if (rows !== undefined) unknownTopics.set(unknown, rows + 1);
          else if (unknownTopics.size < MAX_UNKNOWN_TOPICS) unknownTopics.set(unknown, 1);
        }
      }
      const name = mapping.name === null ? null : cleanName(unguard(fields[mapping.name]!));
      let phone: string | null = null;
      if (phoneColumn !== null) {
        const read = readPhoneField(options.phoneKey!, unguard(fields[phoneColumn]!));
        if (!read.ok) {
          reject(row, fields, 'invalid_phone', `the phone number ${PHONE_ERROR}`);
          return;
        }
        phone = read.hash ?? null;
      }

      const earlier = seen.get(checked.email);
      if (earlier) {
        classified.duplicate_in_file++;
        earlier.topics |= topics;
        earlier.name ??= name;
        earlier.phone ??= phone;
        return undefined;
      }
      const address: PlannedAddress = { email: checked.email, name, topics, phone, kind: 'unchecked' };
      seen.set(checked.email, address);
      ordered.push(address);
      return address;
    },
    async checkChunk(chunk) {
      const found = await lookUp(
        db,
        chunk.map((a) => a.email),
      );
      chunk.forEach((address, i) => {
        address.kind = found[i]!.classification;
        classified[address.kind]++;
      });
    },
  });
  if (!read.ok) return read;
  const { rows, blank, rejected, rejectedBy, rejectedRows, extraColumns } = read.value;

  const writes: ImportPlan['writes'] = { emails: [], names: [], topics: [] };
  if (phoneColumn !== null) writes.phones = [];
  for (const address of ordered) {
    if (address.kind !== 'add' && address.kind !== 'merge') continue;
    writes.emails.push(address.email);
    writes.names.push(address.name);
    writes.topics.push(address.topics);
    writes.phones?.push(address.phone);
  }
  return {
    ok: true,
    value: {
      mapping,
      plannedAt: now,
      counts: { rows, ...classified, rejected, blank },
      rejectedBy,
      rejected: rejectedRows.map((r) => ({ ...r, email: r.values[mapping.email] ?? '' })),
      unknownTopics: Object.fromEntries(unknownTopics),
      extraColumns,
      writes,
    },
  };
}

// ---------------------------------------------------------------------------------------
// Step 3: apply

/**
 * Writes the plan in ONE transaction: new subscribers (active, source_form "import", the
 * consent note), topics (a union for existing ones), an "imported" or "merged" event each.
 * Every chunk re-reads the subscribers and the suppression list inside the transaction,
 * so whatever changed since the dry run (an unsubscribe, an erasure, a new signup) wins.
 * A thrown error (from the database or from `onProgress`) or a killed process leaves the
 * database exactly as it was. On SQLite the transaction holds the only connection, so
 * other work in the process waits until it commits (how long: docs/performance.md).
 */
export async function applyImport(
  db: DB,
  plan: ImportPlan,
  input: { consentNote: string; actor: string },
  now = Date.now(),
  onProgress?: ImportProgress,
): Promise<Result<ImportOutcome>> {
  const note = input.consentNote?.trim();
  if (!note)
    return {
      ok: false,
      error: 'A consent note is required: say where and when these people agreed to receive the newsletter.',
    };
  if (note.length > MAX_CONSENT_NOTE)
    return { ok: false, error: `The consent note is longer than ${MAX_CONSENT_NOTE} characters.` };
  const { emails, names, topics, phones } = plan.writes;
  if (names.length !== emails.length || topics.length !== emails.length || (phones && phones.length !== emails.length))
    return { ok: false, error: 'This import plan is damaged; run the dry run again.' };

  const total = emails.length;
  const outcome: ImportOutcome = { added: 0, merged: 0, kept_unsubscribed: 0, suppressed: 0 };
  const importedDetail = JSON.stringify({ by: input.actor, form: 'import', reason: note });

  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < total; start += IMPORT_CHUNK) {
      const end = Math.min(start + IMPORT_CHUNK, total);
      const chunk = emails.slice(start, end);
      const found = await lookUp(trx, chunk);

      const newRows: Parameters<typeof insertSubscribers>[1][number][] = [];
      const topicsByEmail = new Map<string, number>();
      const merges: { id: number; topics: number }[] = [];
      const phoneMerges = new Map<string, string>();
      found.forEach(({ existing, classification }, i) => {
        const index = start + i;
        if (classification === 'add') {
          newRows.push({
            email: chunk[i]!,
            name: names[index] ?? null,
            status: 'active',
            created_at: now,
            updated_at: now,
            confirmed_at: now,
            source_form: 'import',
            consent_at: now,
            consent_note: note,
            consent_text_version: null,
            phone_hash: phones?.[index] ?? null,
            phone_set_at: phones?.[index] ? now : null,
          });
          topicsByEmail.set(chunk[i]!, topics[index]!);
        } else if (classification === 'merge') {
          merges.push({ id: existing!.id, topics: topics[index]! });
          // A number in the file replaces the one on file; an empty cell keeps it.
          const phone = phones?.[index];
          if (phone) phoneMerges.set(chunk[i]!, phone);
        } else outcome[classification]++;
      });

      const inserted = await insertSubscribers(trx, newRows);
      const topicRows: { subscriber_id: number; topic: string }[] = [];
      const events: { subscriber_id: number; at: number; kind: string; detail: string }[] = [];
      for (const { id, email } of inserted) {
        for (const topic of topicsOfMask(topicsByEmail.get(email) ?? 0)) topicRows.push({ subscriber_id: id, topic });
        events.push({ subscriber_id: id, at: now, kind: 'imported', detail: importedDetail });
      }
      for (const merge of merges) {
        const added = topicsOfMask(merge.topics);
        for (const topic of added) topicRows.push({ subscriber_id: merge.id, topic });
        events.push({
          subscriber_id: merge.id,
          at: now,
          kind: 'merged',
          detail: JSON.stringify({ by: input.actor, form: 'import', topics: added }),
        });
      }
      await insertTopicsIfMissing(trx, topicRows);
      await insertSubscriberEvents(trx, events);
      await setPhoneHashes(trx, phoneMerges, now);
      outcome.added += inserted.length;
      outcome.merged += merges.length;
      await onProgress?.({ done: end, total });
    }
  });
  return { ok: true, value: outcome };
}

// ---------------------------------------------------------------------------------------
// The report

/** Every rejected row and why, as CSV (`row,email,reason,raw`); `raw` is the row re-written with the file's delimiter. */
export function rejectedRowsCsv(plan: ImportPlan): string {
  const rows = plan.rejected.map((r) => [
    r.row,
    r.email,
    r.reason,
    stringify([r.values], { delimiter: plan.mapping.delimiter, eof: false }),
  ]);
  return stringify(rows, { header: true, columns: ['row', 'email', 'reason', 'raw'], escape_formulas: true });
}
