import { createHash, timingSafeEqual } from 'node:crypto';
import { normalizePhone } from '../phone/phone-number.ts';
import { phoneHash } from '../phone/phone-hash.ts';
import { parseEventTime } from './event-time.ts';
import { EARLIEST_EVENT_AT, toOfflineEvent, type OfflineEvent } from './offline-events.ts';
import type { CallStore } from './call-writer.ts';

/**
 * A call a telephony provider reports (the HTTP side, POST /api/webhooks/calls, is
 * src/web/call-webhook.ts): the secret compared, the payload checked field by field, and the
 * call stored as an offline event from source `webhook`, the caller's and the called number kept
 * only as keyed hashes, credited to the issue whose tracked number was called.
 */

/** Providers may post their log late, but not this late. */
export const MAX_WEBHOOK_CALL_AGE_MS = 30 * 86_400_000;
/** A provider's clock a little ahead of ours is set to now; further ahead is refused. */
export const MAX_WEBHOOK_SKEW_MS = 5 * 60_000;
const MAX_DURATION_S = 86_400;

export interface CallWebhookDeps {
  /** Where calls are written (the event writer's call handle). */
  calls: CallStore;
  /** CALLS_WEBHOOK_SECRET; undefined → every request is refused. */
  webhookSecret: string | undefined;
  /** The server secret: keys the caller hash. */
  serverSecret: string;
  timeZone: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time comparison of the presented secret with the configured one (hashed first, so lengths never leak). */
export function isWebhookSecret(expected: string | undefined, presented: string | null | undefined): boolean {
  if (!expected || !presented) return false;
  return timingSafeEqual(digest(expected), digest(presented));
}

/** The secret from `Authorization: Bearer <secret>` or `X-Webhook-Secret: <secret>`. */
/** A keyed hash of a caller's number: the same caller gets the same value, and the number cannot be read back without the server secret. */
export function callerHash(serverSecret: string, normalizedNumber: string): string {
  return phoneHash(serverSecret, normalizedNumber);
}

export interface WebhookCall {
  at: number;
  from?: string;
  to?: string;
  durationS?: number;
  externalId?: string;
  /** True answered, false missed (busy, no answer, failed, cancelled); absent when the provider did not say. */
  answered?: boolean;
}

/** Reads the posted JSON value; answers every problem by field name. */
export function parseCallPayload(
  body: unknown,
  timeZone: string,
  now: number,
): { ok: true; call: WebhookCall } | { ok: false; errors: Record<string, string> } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, errors: { body: 'Send one JSON object, e.g. {"at": "2026-11-26T14:05:00Z"}.' } };
  const input = body as Record<string, unknown>;
  const errors: Record<string, string> = {};
  const call: Partial<WebhookCall> = {};

  if (input.at === undefined || input.at === null || input.at === '')
    errors.at = 'required: the time of the call, as epoch milliseconds or ISO 8601 with an offset';
  else if (typeof input.at === 'number') {
    if (!Number.isSafeInteger(input.at)) errors.at = 'must be a whole number of milliseconds since 1970';
    else if (input.at < 1e11) errors.at = 'looks like seconds since 1970: send milliseconds';
    else call.at = input.at;
  } else if (typeof input.at === 'string') {
    const parsed = parseEventTime(input.at, timeZone, { requireOffset: true });
    if (parsed.ok) call.at = parsed.at;
    else errors.at = parsed.reason;
  } else errors.at = 'must be a number (epoch milliseconds) or an ISO 8601 string';
  if (call.at !== undefined) {
    if (call.at > now + MAX_WEBHOOK_SKEW_MS) errors.at = 'is in the future';
    else if (call.at < EARLIEST_EVENT_AT || now - call.at > MAX_WEBHOOK_CALL_AGE_MS)
      errors.at = 'is more than 30 days ago';
    else call.at = Math.min(call.at, now);
  }

  for (const field of ['from', 'to'] as const) {
    const value = input[field];
    if (value === undefined || value === null || value === '') continue;
    const normalized = typeof value === 'string' ? normalizePhone(value) : undefined;
    if (normalized) call[field] = normalized;
    else errors[field] = 'must be a phone number such as "+44 1632 960123"';
  }

  if (input.duration_s !== undefined && input.duration_s !== null) {
    const d = input.duration_s;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_DURATION_S)
      errors.duration_s = 'must be a whole number of seconds from 0 to 86400';
    else call.durationS = d;
  }

  if (input.id !== undefined && input.id !== null) {
    const id = typeof input.id === 'number' && Number.isSafeInteger(input.id) ? String(input.id) : input.id;
    if (typeof id !== 'string' || !/^[\w.:-]{1,90}$/.test(id))
      errors.id = 'must be the provider’s call id: up to 90 letters, digits, or . _ : -';
    else call.externalId = id;
  }

  if (input.answered !== undefined && input.answered !== null) {
    if (typeof input.answered !== 'boolean') errors.answered = 'must be true (answered) or false (missed)';
    else call.answered = input.answered;
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, call: call as WebhookCall };
}

/** Stores a parsed call (once per provider id); credits it to the issue whose tracked number was called. */
export async function recordWebhookCall(
  deps: CallRecording,
  call: WebhookCall,
  now = Date.now(),
): Promise<{ event: OfflineEvent; duplicate: boolean }> {
  return recordProviderCall(deps, call, call.externalId ? `webhook:${call.externalId}` : null, now);
}

/** Where and how a call is recorded: the event writer's call handle (or storeCall's one transaction) and the server secret. */
export interface CallRecording {
  calls: CallStore;
  /** The server secret: keys the caller's and the called number's hashes. */
  serverSecret: string;
}

/**
 * Stores a call a provider reported, once per `clientId` (`webhook:…`, `twilio:<CallSid>`,
 * `callrail:<id>`): caller and called number kept only as keyed hashes, credited to the issue whose tracked
 * number was called, linked to the subscriber with that phone hash, marked answered or missed
 * and first-time or repeat — all decided in the transaction that stores it (call-writer.ts),
 * answered once that committed.
 */
export async function recordProviderCall(
  deps: CallRecording,
  call: WebhookCall,
  clientId: string | null,
  now = Date.now(),
): Promise<{ event: OfflineEvent; duplicate: boolean }> {
  const { row, duplicate } = await deps.calls.write({
    at: call.at,
    recorded_at: now,
    client_id: clientId,
    from_hash: call.from ? callerHash(deps.serverSecret, call.from) : null,
    // The called number is hashed like the caller's: the tracked number is compared as its hash.
    to_hash: call.to ? phoneHash(deps.serverSecret, call.to) : null,
    duration_s: call.durationS ?? null,
    answered: call.answered === undefined ? null : call.answered ? 1 : 0,
  });
  return { event: toOfflineEvent(row), duplicate };
}
