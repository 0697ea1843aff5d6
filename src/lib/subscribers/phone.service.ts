import type { DB } from '../db/database.ts';
import { hashPhoneInput } from '../phone/phone-hash.ts';
import { findSubscriberById, insertSubscriberEvent, updateSubscriber } from './subscribers.repository.ts';

/**
 * A subscriber's phone number, kept only as a keyed hash (`subscribers.phone_hash`, the same
 * function as a caller's `offline_events.from_hash`): a call from that number is linked to the
 * person when it is recorded. The number itself is never stored nor shown; the admin sees
 * "a phone number is on file" and can replace or remove it.
 */

export const PHONE_ERROR =
  'is not a phone number: write it with its country code, e.g. "+44 1632 960123" (digits, spaces, ( ) . - / only)';

/**
 * What a form, API or CSV field asks for: `undefined` (absent) keeps the number on file, `null`
 * or "" removes it, a number replaces it (as its hash); a value that is not a number is refused.
 */
export function readPhoneField(
  serverSecret: string,
  value: string | null | undefined,
): { ok: true; hash: string | null | undefined } | { ok: false; error: string } {
  if (value === undefined) return { ok: true, hash: undefined };
  if (value === null || value.trim() === '') return { ok: true, hash: null };
  const hash = hashPhoneInput(serverSecret, value);
  return hash === undefined ? { ok: false, error: `“${value.slice(0, 40)}” ${PHONE_ERROR}` } : { ok: true, hash };
}

export type PhoneOutcome = { ok: true; value: 'set' | 'removed' | 'unchanged' } | { ok: false; error: string };

/** Replaces (a number) or removes (null or "") a subscriber's phone number; the timeline says which, never the number. */
export async function setSubscriberPhone(
  db: DB,
  serverSecret: string,
  subscriberId: number,
  typed: string | null,
  actor: string,
  now = Date.now(),
): Promise<PhoneOutcome> {
  const read = readPhoneField(serverSecret, typed);
  if (!read.ok) return { ok: false, error: `The phone number ${read.error.replace(/^“[^”]*” /, '')}.` };
  const subscriber = await findSubscriberById(db, subscriberId);
  if (!subscriber) return { ok: false, error: 'This subscriber no longer exists.' };
  const hash = read.hash ?? null;
  if ((subscriber.phone_hash ?? null) === hash) return { ok: true, value: 'unchanged' };
  await db.transaction().execute(async (trx) => {
    await updateSubscriber(trx, subscriberId, { phone_hash: hash, phone_set_at: hash ? now : null, updated_at: now });
    await insertSubscriberEvent(trx, subscriberId, now, 'phone_changed', {
      by: actor,
      phone: hash ? 'set' : 'removed',
    });
  });
  return { ok: true, value: hash ? 'set' : 'removed' };
}
