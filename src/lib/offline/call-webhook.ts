import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { DB } from '../db/database.ts';
import { BODY_LIMITS } from '../../web/http/body-limits.ts';
import { readRequestBytes } from '../../web/http/request-body.ts';
import { normalizePhone } from '../phone/phone-number.ts';
import { RateLimits, WEBHOOK_FAILURES_PER_ADDRESS } from '../security/rate-limit.ts';
import { parseEventTime } from './event-time.ts';
import { EARLIEST_EVENT_AT, toOfflineEvent, type OfflineEvent } from './offline-events.ts';
import { findOfflineEventByClientId } from './offline-events.repository.ts';
import { storeOfflineEvent } from './offline-counts.ts';
import { creditIssueByNumber } from './issue-credit.ts';

/**
 * The call-tracking webhook, `POST /api/webhooks/calls`: a telephony provider posts each call
 *
 *   Authorization: Bearer <CALLS_WEBHOOK_SECRET>        (or X-Webhook-Secret: <secret>)
 *   Content-Type: application/json
 *   {"at": 1795704300000 | "2026-11-26T14:05:00Z", "from": "+44 1632 960123", "to": "+44 1632 960001",
 *    "duration_s": 95, "id": "provider-call-id"}
 *
 * and it is stored as a `call` from source `webhook`. `at` is required (epoch milliseconds, or
 * ISO 8601 with an offset); the rest is optional. The caller's number is never stored: only a
 * keyed hash (HMAC with the server secret), enough to tell a repeat caller. A call to an issue's
 * tracked phone number is credited to that issue (creditIssueByNumber). With `id`, a provider's
 * retry stores nothing new.
 *
 * 401 for a missing or wrong secret (and for everything while no secret is configured), 400 with
 * a message per field for bad JSON or fields, 413 for a body over 16 KB, 429 after repeated
 * failed authentications from one network (counted in the database, src/lib/security/rate-limit.ts);
 * no call is stored unless the answer is 200/201.
 */

export const MAX_WEBHOOK_BODY_BYTES = BODY_LIMITS.webhook;
/** Providers may post their log late, but not this late. */
export const MAX_WEBHOOK_CALL_AGE_MS = 30 * 86_400_000;
/** A provider's clock a little ahead of ours is set to now; further ahead is refused. */
export const MAX_WEBHOOK_SKEW_MS = 5 * 60_000;
const MAX_DURATION_S = 86_400;

export interface CallWebhookDeps {
  db: DB;
  /** CALLS_WEBHOOK_SECRET; undefined → every request is refused. */
  webhookSecret: string | undefined;
  /** The server secret: keys the caller hash. */
  serverSecret: string;
  timeZone: string;
}

export interface WebhookAnswer {
  status: 200 | 201 | 400 | 401 | 413 | 415 | 429;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time comparison of the presented secret with the configured one (hashed first, so lengths never leak). */
export function isWebhookSecret(expected: string | undefined, presented: string | null | undefined): boolean {
  if (!expected || !presented) return false;
  return timingSafeEqual(digest(expected), digest(presented));
}

/** The secret from `Authorization: Bearer <secret>` or `X-Webhook-Secret: <secret>`. */
export function presentedSecret(headers: Headers): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '');
  return bearer?.[1] ?? headers.get('x-webhook-secret')?.trim() ?? undefined;
}

/** A keyed hash of a caller's number: the same caller gets the same value, and the number cannot be read back without the server secret. */
export function callerHash(serverSecret: string, normalizedNumber: string): string {
  return createHmac('sha256', serverSecret).update('caller\0').update(normalizedNumber).digest('hex').slice(0, 32);
}

export interface WebhookCall {
  at: number;
  from?: string;
  to?: string;
  durationS?: number;
  externalId?: string;
}

/** Reads the posted JSON value; answers every problem by field name. */
export function parseCallPayload(body: unknown, timeZone: string, now: number): { ok: true; call: WebhookCall } | { ok: false; errors: Record<string, string> } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, errors: { body: 'Send one JSON object, e.g. {"at": "2026-11-26T14:05:00Z"}.' } };
  const input = body as Record<string, unknown>;
  const errors: Record<string, string> = {};
  const call: Partial<WebhookCall> = {};

  if (input.at === undefined || input.at === null || input.at === '') errors.at = 'required: the time of the call, as epoch milliseconds or ISO 8601 with an offset';
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
    else if (call.at < EARLIEST_EVENT_AT || now - call.at > MAX_WEBHOOK_CALL_AGE_MS) errors.at = 'is more than 30 days ago';
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
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_DURATION_S) errors.duration_s = 'must be a whole number of seconds from 0 to 86400';
    else call.durationS = d;
  }

  if (input.id !== undefined && input.id !== null) {
    const id = typeof input.id === 'number' && Number.isSafeInteger(input.id) ? String(input.id) : input.id;
    if (typeof id !== 'string' || !/^[\w.:-]{1,90}$/.test(id)) errors.id = 'must be the provider’s call id: up to 90 letters, digits, or . _ : -';
    else call.externalId = id;
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, call: call as WebhookCall };
}

/** Stores a parsed call (once per provider id); credits it to the issue whose tracked number was called. */
export async function recordWebhookCall(deps: Pick<CallWebhookDeps, 'db' | 'serverSecret'>, call: WebhookCall, now = Date.now()): Promise<{ event: OfflineEvent; duplicate: boolean }> {
  const clientId = call.externalId ? `webhook:${call.externalId}` : null;
  const inserted = await storeOfflineEvent(deps.db, {
    kind: 'call',
    at: call.at,
    recorded_at: now,
    source: 'webhook',
    recorded_by: null,
    mentioned_newsletter: null,
    note: null,
    issue_id: await creditIssueByNumber(deps.db, call.to ?? null, call.at),
    client_id: clientId,
    from_hash: call.from ? callerHash(deps.serverSecret, call.from) : null,
    to_number: call.to ?? null,
    duration_s: call.durationS ?? null,
  });
  if (inserted) return { event: toOfflineEvent(inserted), duplicate: false };
  const existing = clientId ? await findOfflineEventByClientId(deps.db, clientId) : undefined;
  if (!existing) throw new Error(`webhook call ${clientId} neither inserted nor found`);
  return { event: toOfflineEvent(existing), duplicate: true };
}

/** The whole webhook: authenticate, read, validate, store. `address` is the client's, for the failure limit. */
export async function handleCallWebhook(deps: CallWebhookDeps, request: Request, address: string, now = Date.now()): Promise<WebhookAnswer> {
  const failures = new RateLimits({ db: deps.db, secret: deps.serverSecret });
  const blocked = await failures.check(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
  if (!blocked.allowed) return { status: 429, body: { error: 'too_many_failures', message: 'Too many failed attempts from this address; try again later.' }, headers: { 'retry-after': String(blocked.retryAfterSeconds) } };
  if (!isWebhookSecret(deps.webhookSecret, presentedSecret(request.headers))) {
    await failures.hit(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
    const message = deps.webhookSecret
      ? 'Send the webhook secret as "Authorization: Bearer <secret>" or "X-Webhook-Secret: <secret>".'
      : 'The call webhook is switched off: set CALLS_WEBHOOK_SECRET on the server.';
    return { status: 401, body: { error: 'unauthorized', message }, headers: { 'www-authenticate': 'Bearer realm="footfall-webhooks"' } };
  }
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) {
    return { status: 415, body: { error: 'unsupported_media_type', message: 'Send JSON with "Content-Type: application/json".' } };
  }
  const read = await readRequestBytes(request, MAX_WEBHOOK_BODY_BYTES);
  if (!read.ok && read.reason === 'too_large') return { status: 413, body: { error: 'too_large', message: `The body is over ${MAX_WEBHOOK_BODY_BYTES} bytes.` } };
  if (!read.ok) return { status: 400, body: { error: 'bad_body', message: 'The request body could not be read (the upload was interrupted).' } };
  const bytes = read.bytes;
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { status: 400, body: { error: 'bad_json', message: 'The body is not valid JSON.', fields: { body: 'not valid JSON' } } };
  }
  const parsed = parseCallPayload(body, deps.timeZone, now);
  if (!parsed.ok) return { status: 400, body: { error: 'invalid_fields', message: 'Some fields are not valid; nothing was stored.', fields: parsed.errors } };
  const { event, duplicate } = await recordWebhookCall(deps, parsed.call, now);
  return {
    status: duplicate ? 200 : 201,
    body: { stored: !duplicate, duplicate, event: { id: event.id, kind: event.kind, at: event.at, issue_id: event.issueId, to: event.toNumber, duration_s: event.durationS } },
  };
}
