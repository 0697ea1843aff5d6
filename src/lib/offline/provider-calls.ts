import { createHmac, timingSafeEqual } from 'node:crypto';
import { normalizePhone } from '../phone/phone-number.ts';
import { parseEventTime } from './event-time.ts';
import { EARLIEST_EVENT_AT } from './offline-events.ts';
import { MAX_WEBHOOK_CALL_AGE_MS, MAX_WEBHOOK_SKEW_MS, type WebhookCall } from './call-webhook.ts';

/**
 * Calls as phone providers report them, beside the generic webhook (call-webhook.ts): each
 * provider's signature checked the way it documents it, its payload read into a WebhookCall,
 * and the provider's call id as the idempotency key (`twilio:<CallSid>`, `callrail:<id>`).
 * Stored by recordProviderCall like every webhook call.
 *
 * - Twilio call status callbacks: form-encoded; `X-Twilio-Signature` is base64 HMAC-SHA1,
 *   keyed with the account's auth token, of the full URL Twilio called followed by every POST
 *   parameter's name and value, sorted by name, with no separators (twilio.com/docs/usage/security).
 * - CallRail webhooks: JSON; the `Signature` header is base64 HMAC-SHA1 of the raw body keyed
 *   with the company's webhook signing key.
 */

const MAX_DURATION_S = 86_400;

/**
 * Constant-time comparison of two base64 signatures. Only a presented signature of another
 * length is refused early: the expected one's length is public (28 characters for HMAC-SHA1),
 * so that reveals nothing about it.
 */
function sameSignature(expected: string, presented: string | null | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(presented.trim(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------
// Twilio

/** Twilio's signature of a request: base64 HMAC-SHA1 of the URL followed by the sorted parameters. */
export function twilioSignature(authToken: string, url: string, params: Iterable<[string, string]>): string {
  const sorted = [...params].sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  // One string, one update: each update is a call into node:crypto with a fixed cost.
  let signed = url;
  for (const [name, value] of sorted) signed += name + value;
  return createHmac('sha1', authToken).update(signed, 'utf8').digest('base64');
}

/** The URLs a signature may have been made over, by URL (a server is called at one or two). */
const candidatesByUrl = new Map<string, readonly string[] | undefined>();

function signedUrlCandidates(url: string): readonly string[] | undefined {
  if (candidatesByUrl.has(url)) return candidatesByUrl.get(url);
  let candidates: readonly string[] | undefined;
  try {
    // URL drops a default port: `host` is then the bare name, and the port is written out once more.
    const parsed = new URL(url);
    const rest = `${parsed.pathname}${parsed.search}`;
    const found = new Set([url, `${parsed.protocol}//${parsed.host}${rest}`]);
    if (parsed.port === '')
      found.add(`${parsed.protocol}//${parsed.host}:${parsed.protocol === 'https:' ? 443 : 80}${rest}`);
    candidates = [...found];
  } catch {
    candidates = undefined;
  }
  // The query string is the caller's: a flood of distinct URLs must not grow this without bound.
  if (candidatesByUrl.size >= 64) candidatesByUrl.clear();
  candidatesByUrl.set(url, candidates);
  return candidates;
}

/**
 * Whether `signature` is Twilio's for this URL and these parameters. Like Twilio's own
 * validateRequest, an https URL is also tried with and without the default port written out
 * (Twilio signs the URL as configured, which may or may not carry ":443").
 */
export function isTwilioRequest(
  authToken: string | undefined,
  signature: string | null | undefined,
  url: string,
  params: readonly [string, string][],
): boolean {
  if (!authToken || !signature) return false;
  const candidates = signedUrlCandidates(url);
  if (!candidates) return false;
  let valid = false;
  for (const candidate of candidates)
    valid = sameSignature(twilioSignature(authToken, candidate, params), signature) || valid;
  return valid;
}

/** Twilio's final call statuses: answered, or missed. Others (queued, ringing, in-progress) are progress, not a call to count. */
const TWILIO_FINAL: Record<string, boolean> = {
  completed: true,
  busy: false,
  'no-answer': false,
  failed: false,
  canceled: false,
};

export type ParsedProviderCall =
  | { ok: true; call: WebhookCall; externalId: string }
  | { ok: true; ignored: string }
  | { ok: false; errors: Record<string, string> };

/** A phone number a provider sent; undefined for an anonymous or withheld caller ("anonymous", "+266696687", "client:…"). */
function providerNumber(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const normalized = normalizePhone(value);
  // Twilio's placeholders for withheld numbers.
  if (!normalized || ['+266696687', '+7378742833', '+2562533', '+8656696'].includes(normalized)) return undefined;
  return normalized;
}

function checkTime(at: number, now: number): { at: number } | { error: string } {
  if (at > now + MAX_WEBHOOK_SKEW_MS) return { error: 'is in the future' };
  if (at < EARLIEST_EVENT_AT || now - at > MAX_WEBHOOK_CALL_AGE_MS) return { error: 'is more than 30 days ago' };
  return { at: Math.min(at, now) };
}

function readDuration(value: unknown): number | undefined | null {
  if (value === undefined || value === null || value === '') return undefined;
  const n =
    typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= MAX_DURATION_S ? n : null;
}

/** A Twilio status callback's parameters read into a call; progress statuses are ignored (answered 200, nothing stored). */
export function parseTwilioCall(params: URLSearchParams, now: number): ParsedProviderCall {
  const errors: Record<string, string> = {};
  const sid = params.get('CallSid') ?? '';
  if (!/^[A-Za-z0-9]{2,64}$/.test(sid)) errors.CallSid = 'required: Twilio’s call id (CA followed by 32 hex digits)';
  const status = params.get('CallStatus') ?? '';
  if (status === '') errors.CallStatus = 'required: completed, busy, no-answer, failed or canceled';
  const duration = readDuration(params.get('CallDuration'));
  if (duration === null) errors.CallDuration = 'must be a whole number of seconds from 0 to 86400';
  let at = now;
  const stamp = params.get('Timestamp');
  if (stamp) {
    const parsed = Date.parse(stamp);
    if (Number.isNaN(parsed)) errors.Timestamp = 'must be a date such as "Mon, 16 Aug 2010 03:45:01 +0000"';
    else {
      const checked = checkTime(parsed, now);
      if ('error' in checked) errors.Timestamp = checked.error;
      else at = checked.at;
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  if (!(status in TWILIO_FINAL))
    return { ok: true, ignored: `status "${status.slice(0, 40)}" is not a final call status` };
  return {
    ok: true,
    externalId: sid,
    call: {
      at,
      from: providerNumber(params.get('From') ?? undefined),
      to: providerNumber(params.get('To') ?? params.get('Called') ?? undefined),
      durationS: duration ?? undefined,
      externalId: sid,
      answered: TWILIO_FINAL[status]!,
    },
  };
}

// ---------------------------------------------------------------------------------------
// CallRail

/** CallRail's signature of a body: base64 HMAC-SHA1 of the raw bytes with the signing key. */
export function callrailSignature(signingKey: string, body: Uint8Array): string {
  return createHmac('sha1', signingKey).update(body).digest('base64');
}

export function isCallrailRequest(
  signingKey: string | undefined,
  signature: string | null | undefined,
  body: Uint8Array,
): boolean {
  if (!signingKey || !signature) return false;
  return sameSignature(callrailSignature(signingKey, body), signature);
}

/** A CallRail post-call payload read into a call: id, customer and tracking numbers, answered, duration, start time. */
export function parseCallrailCall(body: unknown, timeZone: string, now: number): ParsedProviderCall {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, errors: { body: 'must be one JSON object: CallRail’s call' } };
  const input = body as Record<string, unknown>;
  const errors: Record<string, string> = {};
  const id = typeof input.id === 'number' && Number.isSafeInteger(input.id) ? String(input.id) : input.id;
  if (typeof id !== 'string' || !/^[\w.:-]{1,90}$/.test(id)) errors.id = 'required: CallRail’s call id';
  let at: number | undefined;
  if (typeof input.start_time !== 'string' || input.start_time === '')
    errors.start_time = 'required: when the call started, ISO 8601 with an offset';
  else {
    const parsed = parseEventTime(input.start_time, timeZone, { requireOffset: true });
    if (!parsed.ok) errors.start_time = parsed.reason;
    else {
      const checked = checkTime(parsed.at, now);
      if ('error' in checked) errors.start_time = checked.error;
      else at = checked.at;
    }
  }
  let answered: boolean | undefined;
  if (input.answered !== undefined && input.answered !== null) {
    if (typeof input.answered === 'boolean') answered = input.answered;
    else if (input.answered === 'true' || input.answered === 'false') answered = input.answered === 'true';
    else errors.answered = 'must be true or false';
  }
  const duration = readDuration(input.duration);
  if (duration === null) errors.duration = 'must be a whole number of seconds from 0 to 86400';
  for (const field of ['customer_phone_number', 'tracking_phone_number'] as const) {
    const value = input[field];
    if (value !== undefined && value !== null && typeof value !== 'string') errors[field] = 'must be a phone number';
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    externalId: id as string,
    call: {
      at: at!,
      from: providerNumber(input.customer_phone_number as string | undefined),
      to: providerNumber(input.tracking_phone_number as string | undefined),
      durationS: duration ?? undefined,
      externalId: id as string,
      answered,
    },
  };
}
