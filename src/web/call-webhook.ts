import type { CallWebhookDeps } from '../lib/offline/call-webhook.ts';
import { isWebhookSecret, parseCallPayload, recordWebhookCall } from '../lib/offline/call-webhook.ts';
import { WEBHOOK_FAILURES_PER_ADDRESS, type RateLimits } from '../lib/security/rate-limit.ts';
import { BODY_LIMITS } from './http/body-limits.ts';
import { readRequestBytes, type BodyBytes } from './http/request-body.ts';

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
 * tracked phone number is credited to that issue (creditedIssue). With `id`, a provider's
 * retry stores nothing new.
 *
 * 401 for a missing or wrong secret (and for everything while no secret is configured), 400 with
 * a message per field for bad JSON or fields, 413 for a body over 16 KB, 429 after repeated
 * failed authentications from one network (counted in the database, src/lib/security/rate-limit.ts);
 * no call is stored unless the answer is 200/201.
 */

export const MAX_WEBHOOK_BODY_BYTES = BODY_LIMITS.webhook;

export interface WebhookAnswer {
  status: 200 | 201 | 400 | 401 | 403 | 413 | 415 | 429;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  /** `body` as JSON, the text JSON.stringify gives, where it was written directly (a stored call's answer). */
  json?: string;
}

/**
 * What a webhook handler reads of a request, whoever serves it: the server entry's node:http
 * request (webhook-handler.ts, the way every request reaches it under `npm start`) or a web
 * Request (the Astro routes under src/pages/api/webhooks, for `astro dev`).
 */
export interface WebhookRequest {
  /** A header's (first) value; `name` lower-case. */
  header(name: string): string | undefined;
  /** The path and query string requested. */
  target: string;
  /** The body, at most `maxBytes`. */
  body(maxBytes: number): Promise<BodyBytes>;
}

/** A web Request as a WebhookRequest. */
export function webhookRequestOf(request: Request): WebhookRequest {
  const url = new URL(request.url);
  return {
    header: (name) => request.headers.get(name) ?? undefined,
    target: `${url.pathname}${url.search}`,
    body: (maxBytes) => readRequestBytes(request, maxBytes),
  };
}

export function presentedSecret(request: WebhookRequest): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.header('authorization') ?? '');
  return bearer?.[1] ?? request.header('x-webhook-secret')?.trim() ?? undefined;
}

/** The whole webhook: authenticate, read, validate, store. `address` is the client's, for the failure limit. */
export async function handleCallWebhook(
  deps: CallWebhookDeps & { rateLimits: RateLimits },
  request: WebhookRequest,
  address: string,
  now = Date.now(),
): Promise<WebhookAnswer> {
  const failures = deps.rateLimits;
  const blocked = await failures.check(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
  if (!blocked.allowed)
    return {
      status: 429,
      body: { error: 'too_many_failures', message: 'Too many failed attempts from this address; try again later.' },
      headers: { 'retry-after': String(blocked.retryAfterSeconds) },
    };
  if (!isWebhookSecret(deps.webhookSecret, presentedSecret(request))) {
    await failures.hit(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
    const message = deps.webhookSecret
      ? 'Send the webhook secret as "Authorization: Bearer <secret>" or "X-Webhook-Secret: <secret>".'
      : 'The call webhook is switched off: set CALLS_WEBHOOK_SECRET on the server.';
    return {
      status: 401,
      body: { error: 'unauthorized', message },
      headers: { 'www-authenticate': 'Bearer realm="footfall-webhooks"' },
    };
  }
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(request.header('content-type') ?? '')) {
    return {
      status: 415,
      body: { error: 'unsupported_media_type', message: 'Send JSON with "Content-Type: application/json".' },
    };
  }
  const read = await request.body(MAX_WEBHOOK_BODY_BYTES);
  if (!read.ok && read.reason === 'too_large')
    return { status: 413, body: { error: 'too_large', message: `The body is over ${MAX_WEBHOOK_BODY_BYTES} bytes.` } };
  if (!read.ok)
    return {
      status: 400,
      body: { error: 'bad_body', message: 'The request body could not be read (the upload was interrupted).' },
    };
  const bytes = read.bytes;
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return {
      status: 400,
      body: { error: 'bad_json', message: 'The body is not valid JSON.', fields: { body: 'not valid JSON' } },
    };
  }
  const parsed = parseCallPayload(body, deps.timeZone, now);
  if (!parsed.ok)
    return {
      status: 400,
      body: {
        error: 'invalid_fields',
        message: 'Some fields are not valid; nothing was stored.',
        fields: parsed.errors,
      },
    };
  const { event, duplicate } = await recordWebhookCall(deps, parsed.call, now);
  return {
    status: duplicate ? 200 : 201,
    body: {
      stored: !duplicate,
      duplicate,
      event: {
        id: event.id,
        kind: event.kind,
        at: event.at,
        issue_id: event.issueId,
        // The called number as read from this request: it is stored only as a keyed hash.
        to: parsed.call.to ?? null,
        duration_s: event.durationS,
      },
    },
  };
}
