import { stringify } from 'csv-stringify/sync';
import type { DB } from '../db/database.ts';
import {
  findTopicsOf,
  listSubscribersAfter,
  type Subscriber,
  type SubscriberFilter,
} from './subscribers.repository.ts';

export const EXPORT_COLUMNS = [
  'email',
  'name',
  'status',
  'topics',
  'created_at',
  'confirmed_at',
  'source_form',
  'source_campaign',
  'consent_note',
] as const;
export const EXPORT_CHUNK = 1000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function exportRow(s: Subscriber, topics: readonly string[]): (string | null)[] {
  return [
    s.email,
    s.name,
    s.status,
    topics.join(' '),
    iso(s.created_at),
    iso(s.confirmed_at),
    s.source_form,
    s.source_campaign,
    s.consent_note,
  ];
}

/**
 * The subscribers matching `filter` (the admin list's filter) as CSV, in id order, a chunk
 * at a time: `write` gets the header, then one piece per chunk, and is awaited (return a
 * promise to apply backpressure). Starts with a UTF-8 BOM so spreadsheet programs read
 * accented names correctly (the import strips it). Values that a spreadsheet would run as
 * a formula (=, +, -, @, tab, CR first) get a leading `'` (csv-stringify's escape_formulas);
 * the import takes it off again, so an export re-imports as the same addresses.
 * Answers the number of subscribers written.
 */
export async function exportSubscribersCsv(
  db: DB,
  filter: SubscriberFilter,
  write: (text: string) => void | Promise<void>,
): Promise<number> {
  await write('\uFEFF' + stringify([[...EXPORT_COLUMNS]]));
  let afterId = 0;
  let written = 0;
  for (;;) {
    const subscribers = await listSubscribersAfter(db, filter, afterId, EXPORT_CHUNK);
    if (subscribers.length === 0) break;
    const topics = await findTopicsOf(
      db,
      subscribers.map((s) => s.id),
    );
    await write(
      stringify(
        subscribers.map((s) => exportRow(s, topics.get(Number(s.id)) ?? [])),
        { escape_formulas: true },
      ),
    );
    written += subscribers.length;
    afterId = Number(subscribers[subscribers.length - 1]!.id);
    if (subscribers.length < EXPORT_CHUNK) break;
  }
  return written;
}
