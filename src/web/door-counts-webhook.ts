import type { DB } from '../lib/db/database.ts';
import { webhookSecretMatches } from '../lib/sending/bounce-webhook.ts';
import { doorCounters, OverlapRefusal, recordDoorCounts } from '../lib/door/door-counts.service.ts';
import { parseDoorCountsPayload } from '../lib/door/door-webhook.ts';
import { WEBHOOK_FAILURES_PER_ADDRESS, type RateLimits } from '../lib/security/rate-limit.ts';
import { BODY_LIMITS } from './http/body-limits.ts';
import { readRequestBytes } from './http/request-body.ts';

/**
 * `POST /api/webhooks/door-counts`: a door counter (or its cloud) posts interval counts
 *
 *   Authorization: Bearer <DOOR_COUNTS_WEBHOOK_SECRET>      (or X-Webhook-Secret: <secret>)
 *   Content-Type: application/json
 *   {"counter": "front", "from": "2026-11-26T14:00:00Z", "to": "2026-11-26T14:15:00Z", "in": 12, "out": 9}
 *   or a list of up to 1,000 of them
 *
 * 201 when something was stored or corrected, 200 when every interval was already stored as sent
 * (a replay). 401 for a missing or wrong secret (everything while none is configured), 415 for a
 * body that is not JSON, 413 over BODY_LIMITS.doorCounts, 400 naming each bad field (`[i].field`
 * in a list) or an interval overlapping another of the counter, 429 after repeated failed
 * authentications. Nothing is stored unless the answer is 200/201: a list is all or nothing.
 */

export interface DoorWebhookDeps {
  db: DB;
  webhookSecret: string | undefined;
  timeZone: string;
  rateLimits: RateLimits;
}

export interface DoorWebhookAnswer {
  status: 200 | 201 | 400 | 401 | 413 | 415 | 429;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

const invalid = (fields: Record<string, string>): DoorWebhookAnswer => ({
  status: 400,
  body: { error: 'invalid_fields', message: 'Some fields are not valid; nothing was stored.', fields },
});

export async function handleDoorCountsWebhook(
  deps: DoorWebhookDeps,
  request: Request,
  address: string,
  now = Date.now(),
): Promise<DoorWebhookAnswer> {
  const blocked = await deps.rateLimits.check(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
  if (!blocked.allowed)
    return {
      status: 429,
      body: { error: 'too_many_failures', message: 'Too many failed attempts from this address; try again later.' },
      headers: { 'retry-after': String(blocked.retryAfterSeconds) },
    };
  if (!webhookSecretMatches(deps.webhookSecret, request.headers)) {
    await deps.rateLimits.hit(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
    const message = deps.webhookSecret
      ? 'Send the webhook secret as "Authorization: Bearer <secret>" or "X-Webhook-Secret: <secret>".'
      : 'The door-counts webhook is switched off: set DOOR_COUNTS_WEBHOOK_SECRET on the server.';
    return {
      status: 401,
      body: { error: 'unauthorized', message },
      headers: { 'www-authenticate': 'Bearer realm="footfall-webhooks"' },
    };
  }
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(request.headers.get('content-type') ?? ''))
    return {
      status: 415,
      body: { error: 'unsupported_media_type', message: 'Send JSON with "Content-Type: application/json".' },
    };
  const read = await readRequestBytes(request, BODY_LIMITS.doorCounts);
  if (!read.ok && read.reason === 'too_large')
    return { status: 413, body: { error: 'too_large', message: `The body is over ${BODY_LIMITS.doorCounts} bytes.` } };
  if (!read.ok) return { status: 400, body: { error: 'bad_body', message: 'The request body could not be read.' } };
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(read.bytes));
  } catch {
    return invalid({ body: 'not valid JSON' });
  }
  const counters = await doorCounters(deps.db);
  const parsed = parseDoorCountsPayload(body, counters, deps.timeZone, now);
  if (!parsed.ok) return invalid(parsed.errors);
  try {
    const result = await recordDoorCounts(deps.db, counters, parsed.items, 'webhook', now);
    return { status: result.stored + result.replaced > 0 ? 201 : 200, body: { ...result } };
  } catch (error) {
    if (!(error instanceof OverlapRefusal)) throw error;
    const field = Array.isArray(body) ? `[${error.index}].from` : 'from';
    return invalid({
      [field]: `overlaps the stored interval ${new Date(error.other.from).toISOString()} – ${new Date(error.other.to).toISOString()} of this counter: send the same from and to to correct it`,
    });
  }
}
