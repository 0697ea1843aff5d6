import type { OfflineEventKind, OfflineEventSource } from '../db/schema.ts';
import type { OfflineEventRow } from './offline-events.repository.ts';

export type { OfflineEventKind, OfflineEventSource };

/** An offline event as the services hand it out (numbers as numbers on both databases). */
export interface OfflineEvent {
  id: number;
  kind: OfflineEventKind;
  at: number;
  recordedAt: number;
  source: OfflineEventSource;
  recordedBy: number | null;
  /** true said so, false said not, null not asked. */
  mentionedNewsletter: boolean | null;
  note: string | null;
  issueId: number | null;
  clientId: string | null;
  durationS: number | null;
  undoneAt: number | null;
  /** Calls: answered (true), missed (false), not said (null). */
  answered: boolean | null;
  /** Calls: a repeat caller's (true), a first-time caller's (false), caller unknown (null). */
  repeatCaller: boolean | null;
  /** Calls: the subscriber whose phone number called (null when none, or once erased). */
  subscriberId: number | null;
}

export const OFFLINE_KINDS: readonly OfflineEventKind[] = ['call', 'walk_in'];
export const OFFLINE_SOURCES: readonly OfflineEventSource[] = ['tally', 'manual', 'csv', 'webhook'];

export const KIND_LABELS: Record<OfflineEventKind, string> = { call: 'Phone call', walk_in: 'Walk-in' };
export const SOURCE_LABELS: Record<OfflineEventSource, string> = {
  tally: 'Tally page',
  manual: 'Added in the admin',
  csv: 'CSV import',
  webhook: 'Call webhook',
};

/** The tally page's Undo works this long after the server stored the tap. */
export const UNDO_WINDOW_MS = 60_000;
/** A queued tap older than this is refused (it belongs on the Offline events page, typed in with care). */
export const MAX_TAP_AGE_MS = 7 * 86_400_000;
/** How far in the future a device's clock may put a tap before it is refused rather than set to now. */
export const MAX_CLOCK_SKEW_MS = 2 * 60_000;
export const MAX_NOTE_LENGTH = 500;
/** Nothing is recorded before this (a clock reset to 1970 is a broken clock, not history). */
export const EARLIEST_EVENT_AT = Date.UTC(2000, 0, 1);

export function isOfflineKind(value: unknown): value is OfflineEventKind {
  return typeof value === 'string' && (OFFLINE_KINDS as readonly string[]).includes(value);
}

export function isOfflineSource(value: unknown): value is OfflineEventSource {
  return typeof value === 'string' && (OFFLINE_SOURCES as readonly string[]).includes(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A browser-made UUID, lower-cased; undefined when it is not one. */
export function normalizeClientId(value: unknown): string | undefined {
  return typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : undefined;
}

/** One line of plain text: control characters and line breaks become spaces; null when empty. */
export function cleanNote(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = value
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned === '' ? null : cleaned;
}

export function toOfflineEvent(row: OfflineEventRow): OfflineEvent {
  const n = (v: number | string | null) => (v === null ? null : Number(v));
  return {
    id: Number(row.id),
    kind: row.kind,
    at: Number(row.at),
    recordedAt: Number(row.recorded_at),
    source: row.source,
    recordedBy: n(row.recorded_by),
    mentionedNewsletter: row.mentioned_newsletter === null ? null : Number(row.mentioned_newsletter) === 1,
    note: row.note,
    issueId: n(row.issue_id),
    clientId: row.client_id,
    durationS: n(row.duration_s),
    undoneAt: n(row.undone_at),
    answered: row.answered === null || row.answered === undefined ? null : Number(row.answered) === 1,
    repeatCaller:
      row.repeat_caller === null || row.repeat_caller === undefined ? null : Number(row.repeat_caller) === 1,
    subscriberId: row.subscriber_id === null || row.subscriber_id === undefined ? null : Number(row.subscriber_id),
  };
}

export const mentionedValue = (mentioned: boolean | null | undefined): number | null =>
  mentioned === true ? 1 : mentioned === false ? 0 : null;
