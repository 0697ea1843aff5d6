import type { DB } from '../db/database.ts';
import { addDays, dayOf, dayRange, startOfDay } from '../time/zoned-time.ts';
import {
  cleanNote,
  EARLIEST_EVENT_AT,
  MAX_CLOCK_SKEW_MS,
  MAX_NOTE_LENGTH,
  MAX_TAP_AGE_MS,
  mentionedValue,
  normalizeClientId,
  toOfflineEvent,
  UNDO_WINDOW_MS,
  type OfflineEvent,
  type OfflineEventKind,
  type OfflineEventSource,
} from './offline-events.ts';
import {
  countOfflineEvents,
  findEventsForCounting,
  findLastTap,
  findOfflineEventByClientId,
  findOfflineEventById,
  listOfflineEvents,
  markTapUndone,
  setUndone,
  type ListFilter,
} from './offline-events.repository.ts';
import { changeOfflineEventCounting, storeOfflineEvent } from './offline-counts.ts';

/**
 * The rules for offline events recorded by people: tally taps (the tally page, with or without
 * its offline queue), events added by hand in the admin, undo and removal. Every function takes
 * the time as `now` so tests can move it.
 */

export interface Refusal<Code extends string> {
  ok: false;
  code: Code;
  message: string;
}

// ---------------------------------------------------------------------------------------
// Tally taps

export interface TapInput {
  kind: OfflineEventKind;
  /** The browser's UUID for this tap: sending it again stores nothing new. */
  clientId: string;
  /** When the tap happened by the device's clock (epoch ms); absent → now (a plain form post). */
  at?: number;
  /**
   * The device's clock when it sent the tap. With it the server measures the tap's age on the
   * device's own clock (sentAt − at) and counts back from its own: a phone whose clock is wrong
   * still records the right time.
   */
  sentAt?: number;
  mentioned?: boolean | null;
  note?: string | null;
}

export type TapRefusalCode = 'bad_client_id' | 'future' | 'too_old' | 'note_too_long';
export type TapOutcome =
  { ok: true; event: OfflineEvent; duplicate: boolean; clamped: boolean } | Refusal<TapRefusalCode>;

/**
 * When a tap happened, on the server's clock, within sane bounds:
 * - with `sentAt`: now − (sentAt − at), the age measured on the device;
 * - without: `at` itself; up to MAX_CLOCK_SKEW_MS ahead of now is set to now (`clamped`), further is refused;
 * - older than MAX_TAP_AGE_MS (7 days) is refused.
 */
export function resolveTapTime(
  input: Pick<TapInput, 'at' | 'sentAt'>,
  now: number,
): { ok: true; at: number; clamped: boolean } | Refusal<'future' | 'too_old'> {
  let at = now;
  let clamped = false;
  if (input.at !== undefined) {
    if (input.sentAt !== undefined) {
      const age = input.sentAt - input.at;
      clamped = age < 0;
      at = now - Math.max(0, age);
    } else if (input.at > now + MAX_CLOCK_SKEW_MS) {
      const minutes = Math.round((input.at - now) / 60_000);
      return {
        ok: false,
        code: 'future',
        message: `This tap is dated ${minutes} minute${minutes === 1 ? '' : 's'} in the future: check the clock of the device it came from.`,
      };
    } else {
      clamped = input.at > now;
      at = Math.min(input.at, now);
    }
  }
  if (now - at > MAX_TAP_AGE_MS) {
    return {
      ok: false,
      code: 'too_old',
      message:
        'This tap is more than 7 days old, so it was not recorded. If it is right, add it on the Offline events page.',
    };
  }
  return { ok: true, at, clamped };
}

function checkNote(note: string | null | undefined): { ok: true; note: string | null } | Refusal<'note_too_long'> {
  const cleaned = cleanNote(note);
  if (cleaned && cleaned.length > MAX_NOTE_LENGTH)
    return { ok: false, code: 'note_too_long', message: `The note is longer than ${MAX_NOTE_LENGTH} characters.` };
  return { ok: true, note: cleaned };
}

/**
 * Stores a tap once: the same `clientId` again (a retry, a double submit, a queue sent twice)
 * answers the stored event with `duplicate: true` and changes nothing.
 */
export async function recordTap(db: DB, userId: number, input: TapInput, now = Date.now()): Promise<TapOutcome> {
  const clientId = normalizeClientId(input.clientId);
  if (!clientId)
    return { ok: false, code: 'bad_client_id', message: 'This tap has no valid id; reload the page and tap again.' };
  const existing = await findOfflineEventByClientId(db, clientId);
  if (existing) return { ok: true, event: toOfflineEvent(existing), duplicate: true, clamped: false };
  const time = resolveTapTime(input, now);
  if (!time.ok) return time;
  const note = checkNote(input.note);
  if (!note.ok) return note;
  const inserted = await storeOfflineEvent(db, {
    kind: input.kind,
    at: time.at,
    recorded_at: now,
    source: 'tally',
    recorded_by: userId,
    mentioned_newsletter: mentionedValue(input.mentioned),
    note: note.note,
    client_id: clientId,
  });
  if (inserted) return { ok: true, event: toOfflineEvent(inserted), duplicate: false, clamped: time.clamped };
  // Another request with the same id won the race between our look-up and our insert.
  const raced = await findOfflineEventByClientId(db, clientId);
  if (!raced) throw new Error(`offline event ${clientId} neither inserted nor found`);
  return { ok: true, event: toOfflineEvent(raced), duplicate: true, clamped: false };
}

export type UndoRefusalCode = 'not_found' | 'not_yours' | 'already_undone' | 'too_late';

/**
 * Undoes one's own tally tap within UNDO_WINDOW_MS (a minute) of the server storing it. Later,
 * someone with the Offline events page removes it there.
 */
export async function undoTap(
  db: DB,
  userId: number,
  target: { id: number } | { clientId: string },
  now = Date.now(),
): Promise<{ ok: true; event: OfflineEvent } | Refusal<UndoRefusalCode>> {
  let id: number;
  if ('id' in target) id = target.id;
  else {
    const clientId = normalizeClientId(target.clientId);
    const row = clientId ? await findOfflineEventByClientId(db, clientId) : undefined;
    if (!row)
      return { ok: false, code: 'not_found', message: 'That tap was not found (it may not have been sent yet).' };
    id = Number(row.id);
  }
  const undone = await changeOfflineEventCounting(db, -1, (trx) =>
    markTapUndone(trx, { id, userId, recordedSince: now - UNDO_WINDOW_MS }, now),
  );
  if (undone) return { ok: true, event: toOfflineEvent(undone) };
  // Nothing changed: say why.
  const row = await findOfflineEventById(db, id);
  if (row?.source !== 'tally') return { ok: false, code: 'not_found', message: 'That tap was not found.' };
  if (row.recorded_by === null || Number(row.recorded_by) !== userId)
    return { ok: false, code: 'not_yours', message: 'Only the person who tapped can undo a tap.' };
  if (row.undone_at !== null) return { ok: false, code: 'already_undone', message: 'That tap was already undone.' };
  return {
    ok: false,
    code: 'too_late',
    message: 'Undo works for one minute after a tap. To remove it now, ask someone who manages offline events.',
  };
}

/** The tap Undo would apply to: `userId`'s latest, stored within the last minute and not undone. */
export async function lastUndoableTap(db: DB, userId: number, now = Date.now()): Promise<OfflineEvent | undefined> {
  const row = await findLastTap(db, userId, now - UNDO_WINDOW_MS);
  return row && toOfflineEvent(row);
}

/** Today's calls and walk-ins in the site's time zone, every source, undone ones not counted. */
export async function todayCounts(
  db: DB,
  timeZone: string,
  now = Date.now(),
): Promise<{ day: string; call: number; walk_in: number }> {
  const day = dayOf(now, timeZone);
  const { from, to } = dayRange(day, timeZone);
  const [call, walkIn] = await Promise.all([
    countOfflineEvents(db, { kind: 'call', from, to }),
    countOfflineEvents(db, { kind: 'walk_in', from, to }),
  ]);
  return { day, call, walk_in: walkIn };
}

// ---------------------------------------------------------------------------------------
// The admin: add by hand, remove, restore

export interface ManualInput {
  kind: OfflineEventKind;
  at: number;
  mentioned: boolean | null;
  note?: string | null;
  /** A UUID the form carries, so a double submit stores one event. */
  clientId: string;
}

export type ManualRefusalCode = 'bad_client_id' | 'future' | 'too_early' | 'note_too_long';

/** An event typed in on the Offline events page: any past time (since 2000), not in the future. */
export async function addManualEvent(
  db: DB,
  userId: number,
  input: ManualInput,
  now = Date.now(),
): Promise<{ ok: true; event: OfflineEvent; duplicate: boolean } | Refusal<ManualRefusalCode>> {
  const clientId = normalizeClientId(input.clientId);
  if (!clientId)
    return { ok: false, code: 'bad_client_id', message: 'The form is missing its id; reload the page and try again.' };
  if (input.at > now + MAX_CLOCK_SKEW_MS) return { ok: false, code: 'future', message: 'That time is in the future.' };
  if (input.at < EARLIEST_EVENT_AT)
    return { ok: false, code: 'too_early', message: 'That time is before the year 2000.' };
  const note = checkNote(input.note);
  if (!note.ok) return note;
  const inserted = await storeOfflineEvent(db, {
    kind: input.kind,
    at: Math.min(input.at, now),
    recorded_at: now,
    source: 'manual',
    recorded_by: userId,
    mentioned_newsletter: mentionedValue(input.mentioned),
    note: note.note,
    client_id: clientId,
  });
  if (inserted) return { ok: true, event: toOfflineEvent(inserted), duplicate: false };
  const existing = await findOfflineEventByClientId(db, clientId);
  if (!existing) throw new Error(`offline event ${clientId} neither inserted nor found`);
  return { ok: true, event: toOfflineEvent(existing), duplicate: true };
}

/** Takes an event out of every count (it stays listed, and can be restored). */
export async function removeOfflineEvent(
  db: DB,
  id: number,
  userId: number,
  now = Date.now(),
): Promise<{ ok: true; event: OfflineEvent } | Refusal<'not_found'>> {
  const row = await changeOfflineEventCounting(db, -1, (trx) => setUndone(trx, id, { at: now, by: userId }));
  if (row) return { ok: true, event: toOfflineEvent(row) };
  const existing = await findOfflineEventById(db, id);
  return existing
    ? { ok: true, event: toOfflineEvent(existing) }
    : { ok: false, code: 'not_found', message: 'That event no longer exists.' };
}

export async function restoreOfflineEvent(
  db: DB,
  id: number,
): Promise<{ ok: true; event: OfflineEvent } | Refusal<'not_found'>> {
  const row = await changeOfflineEventCounting(db, 1, (trx) => setUndone(trx, id, null));
  if (row) return { ok: true, event: toOfflineEvent(row) };
  const existing = await findOfflineEventById(db, id);
  return existing
    ? { ok: true, event: toOfflineEvent(existing) }
    : { ok: false, code: 'not_found', message: 'That event no longer exists.' };
}

// ---------------------------------------------------------------------------------------
// Listing and the daily table

export interface DayFilter {
  /** First and last day shown, inclusive, "YYYY-MM-DD" in `timeZone`. */
  fromDay: string;
  toDay: string;
  timeZone: string;
  kind?: OfflineEventKind;
  source?: OfflineEventSource;
}

export function rangeOf(filter: DayFilter): ListFilter {
  return {
    from: startOfDay(filter.fromDay, filter.timeZone),
    to: startOfDay(addDays(filter.toDay, 1), filter.timeZone),
    kind: filter.kind,
    source: filter.source,
  };
}

export const LIST_PAGE_SIZE = 100;

/** One page of the list, newest first; `next` is the keyset of the following page when there is one. */
export async function listEvents(db: DB, filter: DayFilter, before?: { at: number; id: number }) {
  const rows = await listOfflineEvents(db, rangeOf(filter), { before, limit: LIST_PAGE_SIZE + 1 });
  const page = rows
    .slice(0, LIST_PAGE_SIZE)
    .map((row) => ({ ...toOfflineEvent(row), recordedByName: row.recorded_by_name, issueSlug: row.issue_slug }));
  const last = page.at(-1);
  return { events: page, next: rows.length > LIST_PAGE_SIZE && last ? { at: last.at, id: last.id } : undefined };
}

export interface DayCount {
  day: string;
  call: number;
  walk_in: number;
  /** Of those, how many said they came because of the newsletter. */
  mentioned: number;
}

/** Counted events per day of the site's time zone, every day of the range listed (zeros too), oldest first. */
export async function dailyCounts(db: DB, filter: DayFilter): Promise<{ days: DayCount[]; total: DayCount }> {
  const rows = await findEventsForCounting(db, rangeOf(filter));
  const byDay = new Map<string, DayCount>();
  for (let day = filter.fromDay; day <= filter.toDay; day = addDays(day, 1))
    byDay.set(day, { day, call: 0, walk_in: 0, mentioned: 0 });
  const total: DayCount = { day: 'total', call: 0, walk_in: 0, mentioned: 0 };
  for (const row of rows) {
    const counts = byDay.get(dayOf(row.at, filter.timeZone));
    if (!counts) continue;
    for (const c of [counts, total]) {
      c[row.kind]++;
      if (row.mentioned_newsletter === 1) c.mentioned++;
    }
  }
  return { days: [...byDay.values()], total };
}
