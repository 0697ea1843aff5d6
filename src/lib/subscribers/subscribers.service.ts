import type { DB } from '../db/database.ts';
import type { Transaction } from 'kysely';
import type { Database, SubscriberStatus } from '../db/schema.ts';
import { displayName } from '../text/mailbox.ts';
import { emailHash, normalizeEmail } from './email-address.ts';
import {
  confirmUrl,
  PREFERENCES_VALID_MS,
  preferencesUrl,
  readConfirmToken,
  unsubscribeUrl,
  type LinkDeps,
} from './links.ts';
import { CONSENT_TEXT_VERSION, parseTopics } from './topics.ts';
import { signupDeltas, unsubscribeDeltas } from './subscriber-counts.ts';
import { addReportCounts } from '../counts/ledger.ts';
import { deletePersonEvents } from '../reports/retention.repository.ts';
import { forgetBounceSubscriber } from '../bounces/bounces.repository.ts';
import { unlinkSubscriberCalls } from '../offline/offline-events.repository.ts';
import {
  deleteSubscriber,
  findDeliveryArm,
  findEventTimesSince,
  findSubscriberByEmail,
  findSubscriberById,
  findSuppression,
  findTopics,
  insertSubscriber,
  insertSubscriberEvent,
  insertSuppression,
  replaceTopics,
  updateSubscriber,
  type Subscriber,
} from './subscribers.repository.ts';

/** Sends the double opt-in email; the caller wires it to the mail layer. */
export type SendConfirmation = (to: string, data: { name: string | null; confirmUrl: string }) => Promise<void>;

/** Sends the welcome email once a subscription is confirmed, with the person's own links. */
export type SendWelcome = (
  to: string,
  data: { subscriberId: number; name: string | null; preferencesUrl: string; unsubscribeUrl: string },
) => Promise<void>;

/** Sends a fresh preferences link that someone asked for (their old one expired, or came from an unsubscribe link). */
export type SendPreferencesLink = (to: string, data: { preferencesUrl: string; validDays: number }) => Promise<void>;

export interface SubscriberDeps extends LinkDeps {
  db: DB;
  sendConfirmation: SendConfirmation;
  /** Optional: without it, confirming sends nothing. */
  sendWelcome?: SendWelcome;
  /** Optional: without it, asking for a new preferences link sends nothing. */
  sendPreferencesLink?: SendPreferencesLink;
}

export const RESEND_AFTER_MS = 2 * 60_000;
export const MAX_CONFIRMATIONS_PER_DAY = 5;
const DAY_MS = 86_400_000;
const MAX_NAME = 100;

export interface SignupInput {
  email: string;
  name?: string | null;
  topics?: readonly string[];
  /** Where the form was: "article:/articles/x/", "home", "subscribe-page", "api", … */
  form: string;
  /** utm_campaign of the page the form was on, when it had one. */
  campaign?: string | null;
  /** The issue that brought the person (attribution cookie), when known. */
  issueId?: number | null;
  /** The delivery whose link they clicked (the attribution cookie names it; a forward's is the forwarder's), when known. */
  deliveryId?: number | null;
}

/**
 * What happened, for tests and logs. The person signing up sees the same answer whatever
 * it is, so a form cannot be used to learn who subscribes.
 */
export type SignupOutcome =
  'confirmation_sent' | 'confirmation_resent' | 'resend_throttled' | 'already_active' | 'suppressed';

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** A name as stored: one line, NFC, at most MAX_NAME characters (never half an emoji); quotes, brackets and any script kept. */
export function cleanName(name: string | null | undefined): string | null {
  if (name == null) return null;
  const cleaned = displayName(name.normalize('NFC'), MAX_NAME);
  return cleaned === '' ? null : cleaned;
}

function mayResend(subscriber: Subscriber, now: number): boolean {
  const last = subscriber.confirmation_sent_at ?? 0;
  if (now - last < RESEND_AFTER_MS) return false;
  return now - last > DAY_MS || subscriber.confirmations_sent < MAX_CONFIRMATIONS_PER_DAY;
}

/** The bookkeeping of one more confirmation email (what mayResend reads). */
function resendCounters(
  subscriber: Subscriber,
  now: number,
): { confirmation_sent_at: number; confirmations_sent: number } {
  return {
    confirmation_sent_at: now,
    confirmations_sent: now - (subscriber.confirmation_sent_at ?? 0) > DAY_MS ? 1 : subscriber.confirmations_sent + 1,
  };
}

/** Double opt-in signup: a new or returning address gets a confirmation link; nothing is active until it is followed. */
export async function subscribe(
  deps: SubscriberDeps,
  input: SignupInput,
  now = Date.now(),
): Promise<Result<SignupOutcome>> {
  const checked = normalizeEmail(input.email);
  if (!checked.ok) return { ok: false, error: checked.error };
  const { topics, unknown } = parseTopics(input.topics ?? []);
  if (unknown.length > 0) return { ok: false, error: `Unknown topic: ${unknown.join(', ')}.` };
  const email = checked.email;
  const name = cleanName(input.name);

  const suppressed = await findSuppression(deps.db, emailHash(email));
  if (suppressed && (suppressed.reason === 'bounced' || suppressed.reason === 'complained'))
    return { ok: true, value: 'suppressed' };

  const existing = await findSubscriberByEmail(deps.db, email);
  if (existing?.status === 'active') return { ok: true, value: 'already_active' };
  if (existing?.status === 'bounced' || existing?.status === 'complained') return { ok: true, value: 'suppressed' };

  let id: number;
  let outcome: SignupOutcome;
  if (existing) {
    if (!mayResend(existing, now)) return { ok: true, value: 'resend_throttled' };
    id = existing.id;
    outcome = 'confirmation_resent';
    // Someone who left stays as they are until the new link is followed: anyone can type an address into a form.
    const unconfirmed = existing.status === 'pending';
    await deps.db.transaction().execute(async (trx) => {
      await updateSubscriber(trx, id, {
        ...(unconfirmed
          ? {
              name: name ?? existing.name,
              source_form: input.form,
              source_campaign: input.campaign ?? existing.source_campaign,
              source_issue_id: input.issueId ?? existing.source_issue_id,
              // The click goes with its issue: a new issue brings its own delivery (or none).
              source_delivery_id:
                input.issueId === undefined || input.issueId === null
                  ? existing.source_delivery_id
                  : (input.deliveryId ?? null),
            }
          : {}),
        ...resendCounters(existing, now),
        updated_at: now,
      });
      if (unconfirmed && topics.length > 0) await replaceTopics(trx, id, topics);
      await insertSubscriberEvent(trx, id, now, 'signup_repeated', {
        form: input.form,
        campaign: input.campaign ?? undefined,
      });
    });
  } else {
    outcome = 'confirmation_sent';
    id = await deps.db.transaction().execute(async (trx) => {
      const newId = await insertSubscriber(trx, {
        email,
        name,
        status: 'pending',
        created_at: now,
        updated_at: now,
        source_form: input.form,
        source_campaign: input.campaign ?? null,
        source_issue_id: input.issueId ?? null,
        source_delivery_id: input.issueId === undefined || input.issueId === null ? null : (input.deliveryId ?? null),
        confirmation_sent_at: now,
        confirmations_sent: 1,
      });
      await replaceTopics(trx, newId, topics);
      await insertSubscriberEvent(trx, newId, now, 'signup', {
        form: input.form,
        campaign: input.campaign ?? undefined,
        issue: input.issueId ?? undefined,
      });
      return newId;
    });
  }
  await deps.sendConfirmation(email, { name: name ?? existing?.name ?? null, confirmUrl: confirmUrl(deps, id, now) });
  return { ok: true, value: outcome };
}

export type ConfirmOutcome = 'confirmed' | 'already_confirmed' | 'superseded' | 'invalid' | 'expired' | 'not_allowed';

/**
 * What a confirmation link would do, changing nothing (the page a GET shows: mail scanners
 * fetch every link on arrival). `ready` when it confirms a signup still waiting for it:
 * someone pending, or someone who left and then asked again — after the link was sent.
 * A link from before an unsubscribe is `superseded`: leaving is not undone by an old email.
 */
export async function checkConfirmation(
  deps: LinkDeps & { db: DB },
  token: string | null | undefined,
  now = Date.now(),
): Promise<{ outcome: 'ready' | Exclude<ConfirmOutcome, 'confirmed'>; subscriber?: Subscriber }> {
  const read = readConfirmToken(deps, token, now);
  if ('error' in read) return { outcome: read.error };
  const subscriber = await findSubscriberById(deps.db, read.subscriberId);
  if (!subscriber) return { outcome: 'invalid' };
  if (subscriber.status === 'active') return { outcome: 'already_confirmed', subscriber };
  if (subscriber.status === 'bounced' || subscriber.status === 'complained')
    return { outcome: 'not_allowed', subscriber };
  if (subscriber.status === 'unsubscribed' && !(read.issuedAt > (subscriber.unsubscribed_at ?? 0)))
    return { outcome: 'superseded', subscriber };
  return { outcome: 'ready', subscriber };
}

/**
 * The button on the confirmation page (a POST): makes the subscriber active and records
 * consent, when checkConfirmation says the link is `ready`. A first confirmation then sends
 * the welcome email (when `sendWelcome` is given); a failed send is logged and reported as
 * `welcome: 'failed'`, never undoing the confirmation.
 */
export async function confirmSubscription(
  deps: LinkDeps & { db: DB; sendWelcome?: SendWelcome },
  token: string | null | undefined,
  now = Date.now(),
): Promise<{ outcome: ConfirmOutcome; subscriber?: Subscriber; welcome?: 'sent' | 'failed' }> {
  const checked = await checkConfirmation(deps, token, now);
  if (checked.outcome !== 'ready') return { outcome: checked.outcome, subscriber: checked.subscriber };
  const subscriber = checked.subscriber!;
  const changed = await deps.db.transaction().execute(async (trx) => {
    // Only from the status the check saw: two presses of the button confirm once.
    const updated = await trx
      .updateTable('subscribers')
      .set({
        status: 'active',
        confirmed_at: now,
        unsubscribed_at: null,
        paused: 0,
        consent_at: now,
        consent_text_version: CONSENT_TEXT_VERSION,
        consent_note: `double opt-in via ${subscriber.source_form ?? 'form'}`,
        updated_at: now,
      })
      .where('id', '=', subscriber.id)
      .where('status', '=', subscriber.status)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) return false;
    await insertSubscriberEvent(
      trx,
      subscriber.id,
      now,
      subscriber.status === 'unsubscribed' ? 'resubscribed' : 'confirmed',
      { consent_text_version: CONSENT_TEXT_VERSION },
    );
    // The arm of the delivery whose link brought the signup (issue 19): read once, as it is confirmed.
    const arm =
      subscriber.source_issue_id === null || subscriber.source_delivery_id === null
        ? null
        : await findDeliveryArm(trx, Number(subscriber.source_delivery_id), Number(subscriber.source_issue_id));
    await addReportCounts(trx, signupDeltas(subscriber.source_issue_id, now, arm));
    return true;
  });
  if (!changed) return { outcome: 'already_confirmed', subscriber };
  const confirmed: Subscriber = { ...subscriber, status: 'active', confirmed_at: now };
  if (!deps.sendWelcome) return { outcome: 'confirmed', subscriber: confirmed };
  return {
    outcome: 'confirmed',
    subscriber: confirmed,
    welcome: await sendWelcomeEmail(deps, deps.sendWelcome, confirmed, now),
  };
}

async function sendWelcomeEmail(
  deps: LinkDeps & { db: DB },
  send: SendWelcome,
  subscriber: Subscriber,
  now: number,
): Promise<'sent' | 'failed'> {
  try {
    await send(subscriber.email, {
      subscriberId: subscriber.id,
      name: subscriber.name,
      preferencesUrl: preferencesUrl(deps, subscriber.id, now),
      unsubscribeUrl: unsubscribeUrl(deps, subscriber.id),
    });
  } catch (error) {
    console.error(
      `[subscribers] welcome email to subscriber #${subscriber.id} failed:`,
      error instanceof Error ? error.message : error,
    );
    return 'failed';
  }
  await insertSubscriberEvent(deps.db, subscriber.id, now, 'email_sent', { email: 'welcome' });
  return 'sent';
}

/** Unsubscribes at once; repeating it changes nothing. */
/** The subscriber a personal link or the admin names; undefined once erased. */
export function getSubscriber(db: DB, subscriberId: number): Promise<Subscriber | undefined> {
  return findSubscriberById(db, subscriberId);
}

/** The topics a subscriber chose. */
export function getSubscriberTopics(db: DB, subscriberId: number): Promise<string[]> {
  return findTopics(db, subscriberId);
}

export async function unsubscribe(
  db: DB,
  subscriberId: number,
  via: { method: 'one-click' | 'page' | 'preferences' | 'admin' | 'api'; issueId?: number },
  now = Date.now(),
): Promise<'unsubscribed' | 'already' | 'not_found'> {
  const subscriber = await findSubscriberById(db, subscriberId);
  if (!subscriber) return 'not_found';
  if (subscriber.status !== 'active' && subscriber.status !== 'pending') return 'already';
  await db.transaction().execute(async (trx) => {
    await updateSubscriber(trx, subscriberId, { status: 'unsubscribed', unsubscribed_at: now, updated_at: now });
    await insertSubscriberEvent(trx, subscriberId, now, 'unsubscribed', { via: via.method, issue: via.issueId });
    await addReportCounts(trx, unsubscribeDeltas(via.issueId ?? null, now));
  });
  return 'unsubscribed';
}

export type ResubscribeOutcome = 'confirmation_sent' | 'resend_throttled' | 'already' | 'not_allowed' | 'not_found';

/**
 * "Subscribe again" from a personal link: a fresh confirmation email, and nothing else —
 * the person is back on the list only once they follow it (an old link, or a forwarded
 * newsletter, proves nothing about who presses the button today). Throttled like signups.
 */
export async function requestResubscription(
  deps: SubscriberDeps,
  subscriberId: number,
  now = Date.now(),
): Promise<ResubscribeOutcome> {
  const subscriber = await findSubscriberById(deps.db, subscriberId);
  if (!subscriber) return 'not_found';
  if (subscriber.status === 'active') return 'already';
  if (subscriber.status === 'bounced' || subscriber.status === 'complained') return 'not_allowed';
  if (await findSuppression(deps.db, emailHash(subscriber.email))) return 'not_allowed';
  if (!mayResend(subscriber, now)) return 'resend_throttled';
  await deps.db.transaction().execute(async (trx) => {
    await updateSubscriber(trx, subscriberId, { ...resendCounters(subscriber, now), updated_at: now });
    await insertSubscriberEvent(trx, subscriberId, now, 'resubscribe_requested', {});
  });
  await deps.sendConfirmation(subscriber.email, {
    name: subscriber.name,
    confirmUrl: confirmUrl(deps, subscriberId, now),
  });
  return 'confirmation_sent';
}

export const PREFERENCES_LINKS_PER_DAY = 5;

export type PreferencesLinkOutcome = 'sent' | 'throttled' | 'not_found';

/**
 * A new preferences link, mailed to the address on file (never shown on the page that asked:
 * whoever holds an old link only learns that a mail went out). At most one every two minutes
 * and PREFERENCES_LINKS_PER_DAY a day per subscriber, counted from their timeline.
 */
export async function mailPreferencesLink(
  deps: SubscriberDeps,
  subscriberId: number,
  now = Date.now(),
): Promise<PreferencesLinkOutcome> {
  const subscriber = await findSubscriberById(deps.db, subscriberId);
  if (!subscriber) return 'not_found';
  const recent = await findEventTimesSince(deps.db, subscriberId, 'preferences_link_sent', now - DAY_MS);
  if (recent.length >= PREFERENCES_LINKS_PER_DAY || (recent[0] !== undefined && now - recent[0] < RESEND_AFTER_MS))
    return 'throttled';
  await deps.sendPreferencesLink?.(subscriber.email, {
    preferencesUrl: preferencesUrl(deps, subscriberId, now),
    validDays: PREFERENCES_VALID_MS / DAY_MS,
  });
  await insertSubscriberEvent(deps.db, subscriberId, now, 'preferences_link_sent', {});
  return 'sent';
}

export interface PreferencesInput {
  name?: string | null;
  topics: readonly string[];
  paused: boolean;
}

export async function updatePreferences(
  db: DB,
  subscriberId: number,
  input: PreferencesInput,
  actor: 'subscriber' | 'admin',
  now = Date.now(),
): Promise<Result<void>> {
  const { topics, unknown } = parseTopics(input.topics);
  if (unknown.length > 0) return { ok: false, error: `Unknown topic: ${unknown.join(', ')}.` };
  const subscriber = await findSubscriberById(db, subscriberId);
  if (!subscriber) return { ok: false, error: 'This subscriber no longer exists.' };
  await db.transaction().execute(async (trx) => {
    await updateSubscriber(trx, subscriberId, {
      name: input.name === undefined ? subscriber.name : cleanName(input.name),
      paused: input.paused ? 1 : 0,
      updated_at: now,
    });
    await replaceTopics(trx, subscriberId, topics);
    await insertSubscriberEvent(trx, subscriberId, now, 'preferences_changed', {
      by: actor,
      topics,
      paused: input.paused,
    });
  });
  return { ok: true, value: undefined };
}

/**
 * "Delete my data": the person, their topics, timeline and own raw events (opens, clicks, page views, visits) go; their calls stay, unlinked. A hash of the address stays
 * on the suppression list so an old CSV cannot bring them back; aggregate counts elsewhere
 * do not reference the person and stay as they are.
 */
export async function eraseSubscriber(db: DB, subscriberId: number, now = Date.now()): Promise<boolean> {
  const subscriber = await findSubscriberById(db, subscriberId);
  if (!subscriber) return false;
  await db.transaction().execute(async (trx) => {
    const hash = emailHash(subscriber.email);
    const existing = await findSuppression(trx, hash);
    if (!existing) await insertSuppression(trx, hash, 'erased', now);
    await deletePersonEvents(trx, subscriberId);
    await forgetBounceSubscriber(trx, subscriberId);
    await unlinkSubscriberCalls(trx, subscriberId);
    await deleteSubscriber(trx, subscriberId);
  });
  return true;
}

export interface ManualAddInput {
  email: string;
  name?: string | null;
  topics?: readonly string[];
  /** Why this person may be mailed without a double opt-in: required, recorded as the consent note. */
  consentNote: string;
  form: 'admin' | 'api' | 'import';
}

export type ManualAddOutcome = 'added' | 'merged' | 'kept_unsubscribed' | 'suppressed';

/** Adds someone as already confirmed, with a stated reason; never reactivates an address that left. */
export async function addConfirmedSubscriber(
  db: DB,
  input: ManualAddInput,
  actor: string,
  now = Date.now(),
): Promise<Result<{ outcome: ManualAddOutcome; id?: number }>> {
  const checked = normalizeEmail(input.email);
  if (!checked.ok) return { ok: false, error: checked.error };
  const note = input.consentNote?.trim();
  if (!note)
    return {
      ok: false,
      error: 'A consent note is required to add someone as already confirmed (where and when they agreed).',
    };
  if (note.length > 500) return { ok: false, error: 'The consent note is longer than 500 characters.' };
  const { topics, unknown } = parseTopics(input.topics ?? []);
  if (unknown.length > 0) return { ok: false, error: `Unknown topic: ${unknown.join(', ')}.` };
  const email = checked.email;
  if (await findSuppression(db, emailHash(email))) return { ok: true, value: { outcome: 'suppressed' } };
  const existing = await findSubscriberByEmail(db, email);
  if (existing) {
    if (existing.status !== 'active' && existing.status !== 'pending')
      return { ok: true, value: { outcome: 'kept_unsubscribed', id: existing.id } };
    await db.transaction().execute(async (trx) => {
      const merged = [...new Set([...(await findTopics(trx, existing.id)), ...topics])];
      await updateSubscriber(trx, existing.id, { name: existing.name ?? cleanName(input.name), updated_at: now });
      await replaceTopics(trx, existing.id, merged);
      await insertSubscriberEvent(trx, existing.id, now, 'merged', { by: actor, form: input.form });
    });
    return { ok: true, value: { outcome: 'merged', id: existing.id } };
  }
  const id = await db.transaction().execute(async (trx) => {
    const newId = await insertSubscriber(trx, {
      email,
      name: cleanName(input.name),
      status: 'active',
      created_at: now,
      updated_at: now,
      confirmed_at: now,
      source_form: input.form,
      consent_at: now,
      consent_note: note,
      consent_text_version: null,
    });
    await replaceTopics(trx, newId, topics);
    await insertSubscriberEvent(trx, newId, now, 'added', { by: actor, form: input.form, reason: note });
    return newId;
  });
  return { ok: true, value: { outcome: 'added', id } };
}

/** Hard bounces and complaints: suppressed for good, never reactivated by signups or imports. */
export async function suppressAddress(
  db: DB,
  email: string,
  reason: 'bounced' | 'complained',
  detail: Record<string, unknown>,
  now = Date.now(),
): Promise<boolean> {
  const checked = normalizeEmail(email);
  if (!checked.ok) return false;
  await db.transaction().execute((trx) => suppressAddressIn(trx, checked.email, reason, detail, now));
  return true;
}

/** suppressAddress inside the caller's transaction (a bounce report stored with it); `email` already normalised. */
export async function suppressAddressIn(
  trx: Transaction<Database>,
  email: string,
  reason: 'bounced' | 'complained',
  detail: Record<string, unknown>,
  now: number,
): Promise<void> {
  await insertSuppression(trx, emailHash(email), reason, now);
  const subscriber = await findSubscriberByEmail(trx, email);
  if (subscriber) {
    await updateSubscriber(trx, subscriber.id, { status: reason satisfies SubscriberStatus, updated_at: now });
    await insertSubscriberEvent(trx, subscriber.id, now, reason, detail);
  }
}
