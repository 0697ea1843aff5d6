import { z } from 'zod';
import type { DB } from '../db/database.ts';
import { emailHash, normalizeEmail } from './email-address.ts';
import {
  findSubscribersByEmails,
  findSuppressedHashes,
  insertSubscriberEvents,
  insertSubscribers,
  insertTopicsIfMissing,
} from './import.repository.ts';
import {
  findSubscriberByEmail,
  findTopics,
  setNameIfMissing,
  touchSubscribers,
  type Subscriber,
} from './subscribers.repository.ts';
import { cleanName, subscribe, type SubscriberDeps } from './subscribers.service.ts';
import { parseTopics, type TopicId } from './topics.ts';
import { normalizePhone } from '../phone/phone-number.ts';
import { PHONE_ERROR, readPhoneField } from './phone.service.ts';
import { setPhoneHashes } from './subscribers.repository.ts';

/**
 * The subscriber API (`/api/subscribers`): the same rules as the forms and the admin, for
 * other systems. `pending` rows get the double opt-in email; `active` rows need a consent
 * note, recorded as such (like a manual add in the admin).
 */

export const MAX_API_ROWS = 10_000;

const row = z
  .object({
    email: z.string({ error: 'must be a string' }).max(1000, 'is far too long for an email address'),
    name: z
      .string({ error: 'must be a string or null' })
      .max(1000, 'is longer than 1,000 characters')
      .nullable()
      .optional(),
    topics: z
      .array(z.string({ error: 'must be a list of strings' }).max(100, 'is not a topic'), {
        error: 'must be a list of strings',
      })
      .max(20, 'has more than 20 topics')
      .optional(),
    status: z
      .enum(['pending', 'active'], {
        error: 'must be "pending" (sends the confirmation email) or "active" (needs consent_note)',
      })
      .optional(),
    consent_note: z.string({ error: 'must be a string' }).max(1000, 'is longer than 1,000 characters').optional(),
    /** Kept only as a keyed hash; null or "" removes the number on file. */
    phone: z
      .string({ error: 'must be a string or null' })
      .max(100, 'is far too long for a phone number')
      .refine((v) => v.trim() === '' || normalizePhone(v) !== undefined, { error: PHONE_ERROR })
      .nullable()
      .optional(),
  })
  .strict();

export type ApiSubscriberInput = z.infer<typeof row>;

/** The body: one object or an array of them; or a message per field (`"3.email": "must be a string"`). */
export function parseApiSubscribers(
  body: unknown,
): { ok: true; rows: ApiSubscriberInput[] } | { ok: false; message: string; fields: Record<string, string> } {
  const many = Array.isArray(body);
  const items: unknown[] = many ? body : [body];
  if (!many && (typeof body !== 'object' || body === null)) {
    return { ok: false, message: 'Send one subscriber as a JSON object, or an array of them.', fields: {} };
  }
  if (items.length === 0)
    return { ok: false, message: 'The array is empty: send at least one subscriber.', fields: {} };
  if (items.length > MAX_API_ROWS)
    return {
      ok: false,
      message: `At most ${MAX_API_ROWS.toLocaleString('en')} subscribers per request (got ${items.length.toLocaleString('en')}).`,
      fields: {},
    };
  const rows: ApiSubscriberInput[] = [];
  const fields: Record<string, string> = {};
  items.forEach((item, index) => {
    const parsed = row.safeParse(item);
    if (parsed.success) {
      rows.push(parsed.data);
      return;
    }
    for (const issue of parsed.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [issue.path.join('.')];
      for (const key of keys) {
        const name = [many ? String(index) : '', key].filter(Boolean).join('.') || (many ? String(index) : 'body');
        const message =
          issue.code === 'unrecognized_keys'
            ? 'is not a field (use email, name, topics, status, consent_note, phone)'
            : issue.path.length === 0
              ? 'must be an object'
              : issue.message;
        if (Object.keys(fields).length < 100) fields[name] ??= message;
      }
    }
  });
  if (Object.keys(fields).length > 0)
    return { ok: false, message: 'The body does not have the expected shape; see `fields`.', fields };
  return { ok: true, rows };
}

export type ApiRowResult =
  | { index: number; email: string; ok: true; outcome: string; id?: number }
  | { index: number; email: string; ok: false; error: string };

/** An `active` row that passed every check, waiting for its batch. */
interface ActiveRow {
  index: number;
  email: string;
  name: string | null;
  topics: TopicId[];
  note: string;
}

const BULK_CHUNK = 500;

/**
 * Adds each row as if one after the other (a later row for the same address merges into the
 * earlier one), and one row's failure does not stop the others. `active` rows go in batches —
 * the rules of addConfirmedSubscriber, a chunk of addresses per transaction — so 10,000 of them
 * take a few seconds, not a few thousand transactions; `pending` rows each get their email.
 */
export async function addSubscribersFromApi(
  deps: SubscriberDeps,
  rows: readonly ApiSubscriberInput[],
  actor: string,
  now = Date.now(),
): Promise<ApiRowResult[]> {
  const results: ApiRowResult[] = [];
  let batch: ActiveRow[] = [];
  const inBatch = new Set<string>();
  const flush = async () => {
    if (batch.length > 0) results.push(...(await addActiveInBulk(deps.db, batch, actor, now)));
    batch = [];
    inBatch.clear();
  };

  for (const [index, input] of rows.entries()) {
    const checked = normalizeEmail(input.email);
    const email = checked.ok ? checked.email : input.email.trim().slice(0, 254);
    if (!checked.ok) {
      results.push({ index, email, ok: false, error: checked.error });
      continue;
    }
    if (input.status === 'active') {
      const invalid = checkActiveRow(input);
      if (invalid) {
        results.push({ index, email, ok: false, error: invalid });
        continue;
      }
      if (inBatch.has(email)) await flush(); // the repeat must see the first one stored
      batch.push({
        index,
        email,
        name: cleanName(input.name),
        topics: parseTopics(input.topics ?? []).topics,
        note: input.consent_note!.trim(),
      });
      inBatch.add(email);
      continue;
    }
    await flush(); // keep the order: a pending row may follow an active row for the same address
    try {
      const signedUp = await subscribe(deps, { email, name: input.name, topics: input.topics, form: 'api' }, now);
      results.push(
        signedUp.ok
          ? { index, email, ok: true, outcome: signedUp.value }
          : { index, email, ok: false, error: signedUp.error },
      );
    } catch (error) {
      // The row is stored as pending; only the email failed (a later request resends it).
      console.error(
        `[api] confirmation email for row ${index} failed:`,
        error instanceof Error ? error.message : error,
      );
      results.push({
        index,
        email,
        ok: false,
        error:
          'Stored as pending, but the confirmation email could not be sent; send the row again later to resend it.',
      });
    }
  }
  await flush();
  results.sort((a, b) => a.index - b.index);
  await applyApiPhones(deps, rows, results, now);
  return results;
}

/**
 * The rows' `phone` fields, once every row is stored: a number replaces the one on file (as
 * its keyed hash), null or "" removes it, no field keeps it. Only for subscribers the row
 * added, merged or signed up; someone who left or a suppressed address is not changed.
 */
async function applyApiPhones(
  deps: SubscriberDeps,
  rows: readonly ApiSubscriberInput[],
  results: readonly ApiRowResult[],
  now: number,
): Promise<void> {
  const changes = new Map<string, string | null>();
  for (const result of results) {
    const input = rows[result.index]!;
    if (!result.ok || input.phone === undefined) continue;
    if (result.outcome === 'suppressed' || result.outcome === 'kept_unsubscribed') continue;
    const read = readPhoneField(deps.secret, input.phone);
    if (read.ok && read.hash !== undefined) changes.set(result.email, read.hash);
  }
  if (changes.size > 0) await setPhoneHashes(deps.db, changes, now);
}

/** What addConfirmedSubscriber would refuse in an `active` row, besides the address. */
function checkActiveRow(input: ApiSubscriberInput): string | undefined {
  const note = input.consent_note?.trim();
  if (!note) return 'A consent note is required to add someone as already confirmed (where and when they agreed).';
  if (note.length > 500) return 'The consent note is longer than 500 characters.';
  const { unknown } = parseTopics(input.topics ?? []);
  if (unknown.length > 0) return `Unknown topic: ${unknown.join(', ')}.`;
  return undefined;
}

/**
 * `active` rows with distinct addresses, by the rules of addConfirmedSubscriber: a suppressed
 * address is never added; someone who left stays as they are; someone on the list gets the
 * topics added (and a name if they had none); everyone else is added, with the row's consent note.
 */
async function addActiveInBulk(
  db: DB,
  rows: readonly ActiveRow[],
  actor: string,
  now: number,
): Promise<ApiRowResult[]> {
  const results: ApiRowResult[] = [];
  for (let start = 0; start < rows.length; start += BULK_CHUNK) {
    const chunk = rows.slice(start, start + BULK_CHUNK);
    await db.transaction().execute(async (trx) => {
      const [existing, suppressed] = await Promise.all([
        findSubscribersByEmails(
          trx,
          chunk.map((r) => r.email),
        ),
        findSuppressedHashes(
          trx,
          chunk.map((r) => emailHash(r.email)),
        ),
      ]);
      const byEmail = new Map(existing.map((s) => [s.email, s]));
      const suppressedSet = new Set(suppressed);
      const added: ActiveRow[] = [];
      const merged: number[] = [];
      const topics: { subscriber_id: number; topic: string }[] = [];
      const events: { subscriber_id: number; at: number; kind: string; detail: string }[] = [];
      for (const row of chunk) {
        const found = byEmail.get(row.email);
        if (suppressedSet.has(emailHash(row.email)))
          results.push({ index: row.index, email: row.email, ok: true, outcome: 'suppressed' });
        else if (found && found.status !== 'active' && found.status !== 'pending')
          results.push({ index: row.index, email: row.email, ok: true, outcome: 'kept_unsubscribed', id: found.id });
        else if (found) {
          merged.push(found.id);
          if (found.name === null && row.name !== null) await setNameIfMissing(trx, found.id, row.name);
          for (const topic of row.topics) topics.push({ subscriber_id: found.id, topic });
          events.push({
            subscriber_id: found.id,
            at: now,
            kind: 'merged',
            detail: JSON.stringify({ by: actor, form: 'api' }),
          });
          results.push({ index: row.index, email: row.email, ok: true, outcome: 'merged', id: found.id });
        } else added.push(row);
      }
      const inserted = await insertSubscribers(
        trx,
        added.map((row) => ({
          email: row.email,
          name: row.name,
          status: 'active' as const,
          created_at: now,
          updated_at: now,
          confirmed_at: now,
          source_form: 'api',
          consent_at: now,
          consent_note: row.note,
          consent_text_version: null,
        })),
      );
      const ids = new Map(inserted.map((r) => [r.email, r.id]));
      for (const row of added) {
        const id = ids.get(row.email)!;
        for (const topic of row.topics) topics.push({ subscriber_id: id, topic });
        events.push({
          subscriber_id: id,
          at: now,
          kind: 'added',
          detail: JSON.stringify({ by: actor, form: 'api', reason: row.note }),
        });
        results.push({ index: row.index, email: row.email, ok: true, outcome: 'added', id });
      }
      await touchSubscribers(trx, merged, now);
      await insertTopicsIfMissing(trx, topics);
      await insertSubscriberEvents(trx, events);
    });
  }
  return results;
}

export interface ApiSubscriber {
  id: number;
  email: string;
  name: string | null;
  status: Subscriber['status'];
  paused: boolean;
  topics: string[];
  createdAt: number;
  confirmedAt: number | null;
  unsubscribedAt: number | null;
  source: { form: string | null; campaign: string | null; issueId: number | null };
  consent: { at: number | null; textVersion: string | null; note: string | null };
  /** Whether a phone number is on file (it is kept only as a keyed hash, never shown). */
  phoneOnFile: boolean;
}

export function toApiSubscriber(s: Subscriber, topics: string[]): ApiSubscriber {
  const time = (ms: number | null) => (ms === null ? null : Number(ms));
  return {
    id: Number(s.id),
    email: s.email,
    name: s.name,
    status: s.status,
    paused: Boolean(s.paused),
    topics,
    createdAt: Number(s.created_at),
    confirmedAt: time(s.confirmed_at),
    unsubscribedAt: time(s.unsubscribed_at),
    source: {
      form: s.source_form,
      campaign: s.source_campaign,
      issueId: s.source_issue_id === null ? null : Number(s.source_issue_id),
    },
    consent: { at: time(s.consent_at), textVersion: s.consent_text_version, note: s.consent_note },
    phoneOnFile: s.phone_hash !== null && s.phone_hash !== undefined,
  };
}

/** One subscriber by address; `invalid` when the address is not one. */
export async function findApiSubscriber(
  db: DB,
  email: unknown,
): Promise<{ ok: false; error: string } | { ok: true; subscriber: ApiSubscriber | undefined }> {
  const checked = normalizeEmail(email);
  if (!checked.ok) return { ok: false, error: checked.error };
  const found = await findSubscriberByEmail(db, checked.email);
  if (!found) return { ok: true, subscriber: undefined };
  return { ok: true, subscriber: toApiSubscriber(found, await findTopics(db, Number(found.id))) };
}
