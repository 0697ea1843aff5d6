import { createHmac, timingSafeEqual, createHash } from 'node:crypto';
import { EventWebhook } from '@sendgrid/eventwebhook';
import type { Config } from '../lib/config.ts';
import type { DB } from '../lib/db/database.ts';
import { recordBounce, type BounceReport } from '../lib/bounces/bounces.service.ts';
import {
  parseMailgunEvent,
  parsePostmarkEvent,
  parseSendgridEvents,
  parseSesNotification,
  type ParsedEvents,
} from '../lib/bounces/providers.ts';
import {
  isSnsUrl,
  parseSnsMessage,
  verifySnsSignature,
  type CertificateFetcher,
  type UrlFetcher,
} from '../lib/bounces/sns.ts';
import { WEBHOOK_FAILURES_PER_ADDRESS, type RateLimits, type RateRule } from '../lib/security/rate-limit.ts';
import { BODY_LIMITS, formatLimit } from './http/body-limits.ts';
import { readRequestBytes } from './http/request-body.ts';

/**
 * The relays' native bounce webhooks, `POST /api/webhooks/<relay>`, each verified the way the
 * relay documents it, then recorded through src/lib/bounces (recordBounce):
 *
 * - `ses`: Amazon SNS messages (Content-Type text/plain, as SNS sends them, or JSON), signature
 *   checked against the signing certificate from an SNS host, topic in SES_SNS_TOPIC_ARNS,
 *   Timestamp at most an hour old; a SubscriptionConfirmation is confirmed by fetching its
 *   SubscribeURL (an SNS host only).
 * - `postmark`: HTTP basic auth (POSTMARK_WEBHOOK_USER / _PASSWORD) set on the webhook URL.
 * - `mailgun`: HMAC-SHA256 of timestamp + token with MAILGUN_WEBHOOK_SIGNING_KEY; a timestamp
 *   more than 15 minutes from now is refused, and so is a token seen before (answered 406, which
 *   tells Mailgun not to retry).
 * - `sendgrid`: the signed event webhook, ECDSA over timestamp + body with
 *   SENDGRID_WEBHOOK_PUBLIC_KEY (@sendgrid/eventwebhook); a timestamp more than 15 minutes from
 *   now is refused.
 *
 * Every webhook refuses everything (401) until configured. Bodies up to 1 MB (413 beyond);
 * a wrong Content-Type 415; a body that does not parse, or an event that is not as documented,
 * 400 — and nothing of the request is stored unless the answer is 200. A retry of an event
 * already recorded (its event id) changes nothing. Repeated failed authentications from one
 * network are refused for a while (429), as on the other webhooks.
 */

export type Relay = 'ses' | 'postmark' | 'mailgun' | 'sendgrid';

export interface RelayWebhookDeps {
  db: DB;
  providers: Config['bounceProviders'];
  rateLimits: RateLimits;
  fetchCertificate: CertificateFetcher;
  fetchSubscribeUrl: UrlFetcher;
}

export interface RelayWebhookAnswer {
  status: 200 | 400 | 401 | 403 | 406 | 413 | 415 | 429 | 502;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** How far a signed timestamp (Mailgun, SendGrid) may be from now, either way. */
export const SIGNED_TIMESTAMP_WINDOW_MS = 15 * 60_000;
/** How old an SNS message may be (its Timestamp). */
export const SNS_MAX_AGE_MS = 60 * 60_000;

const MAILGUN_TOKENS: RateRule = { name: 'mailgun-token', limit: 1, windowMs: 2 * SIGNED_TIMESTAMP_WINDOW_MS };

const ENV: Record<Relay, string> = {
  ses: 'SES_SNS_TOPIC_ARNS',
  postmark: 'POSTMARK_WEBHOOK_USER and POSTMARK_WEBHOOK_PASSWORD',
  mailgun: 'MAILGUN_WEBHOOK_SIGNING_KEY',
  sendgrid: 'SENDGRID_WEBHOOK_PUBLIC_KEY',
};

const JSON_TYPE = /^application\/(.+\+)?json\s*(;|$)/i;
const TEXT_TYPE = /^text\/plain\s*(;|$)/i;

const fail = (
  status: RelayWebhookAnswer['status'],
  error: string,
  message: string,
  headers?: Record<string, string>,
): RelayWebhookAnswer => ({ status, body: { error, message }, ...(headers ? { headers } : {}) });

/** A request refused with its answer; `authFailure` counts towards the per-network limit. */
class Refusal extends Error {
  readonly answer: RelayWebhookAnswer;
  readonly authFailure: boolean;
  constructor(answer: RelayWebhookAnswer, authFailure = false) {
    super(String(answer.body.message));
    this.name = 'Refusal';
    this.answer = answer;
    this.authFailure = authFailure;
  }
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();
const sameSecret = (given: string, expected: string) => timingSafeEqual(sha256(given), sha256(expected));

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new Refusal(fail(400, 'bad_json', 'The body is not valid JSON.'));
  }
}

function parsed(result: ParsedEvents | { error: string }): ParsedEvents {
  if ('error' in result) throw new Refusal(fail(400, 'invalid_event', `${result.error} Nothing was stored.`));
  return result;
}

const unauthorized = (message: string) => new Refusal(fail(401, 'unauthorized', message), true);

function signedTimeIsFresh(seconds: number, now: number): boolean {
  return Number.isFinite(seconds) && Math.abs(seconds * 1000 - now) <= SIGNED_TIMESTAMP_WINDOW_MS;
}

// ── each relay: authenticate, and turn the body into reports ─────────────────────────────────

async function sesReports(
  deps: RelayWebhookDeps,
  request: Request,
  bytes: Uint8Array,
  now: number,
): Promise<ParsedEvents | RelayWebhookAnswer> {
  const topics = deps.providers.ses!.topicArns;
  const envelope = parseSnsMessage(parseJson(bytes));
  if (!envelope.ok) throw new Refusal(fail(400, 'invalid_event', `${envelope.error} Nothing was stored.`));
  const message = envelope.message;
  const typeHeader = request.headers.get('x-amz-sns-message-type');
  if (typeHeader !== null && typeHeader !== message.Type)
    throw new Refusal(fail(400, 'invalid_event', 'x-amz-sns-message-type does not match the message Type.'));
  const checked = await verifySnsSignature(message, deps.fetchCertificate, now);
  if (!checked.ok) throw unauthorized(checked.error);
  const sent = Date.parse(message.Timestamp);
  if (!Number.isFinite(sent) || now - sent > SNS_MAX_AGE_MS || sent - now > SIGNED_TIMESTAMP_WINDOW_MS)
    throw unauthorized('The SNS message is stale: its Timestamp is more than an hour old (or in the future).');
  if (!topics.includes(message.TopicArn))
    throw new Refusal(
      fail(403, 'unknown_topic', `Topic ${message.TopicArn} is not in SES_SNS_TOPIC_ARNS; nothing was stored.`),
    );
  if (message.Type === 'UnsubscribeConfirmation') return { status: 200, body: { recorded: 0, ignored: 1 } };
  if (message.Type === 'SubscriptionConfirmation') {
    if (!isSnsUrl(message.SubscribeURL!))
      throw new Refusal(fail(400, 'invalid_event', 'The SubscribeURL is not on an Amazon SNS host; not confirmed.'));
    try {
      const answer = await deps.fetchSubscribeUrl(message.SubscribeURL!);
      if (answer.status !== 200) throw new Error(`HTTP ${answer.status}`);
    } catch (error) {
      return fail(
        502,
        'not_confirmed',
        `Confirming the subscription failed (${error instanceof Error ? error.message : String(error)}); SNS will send the confirmation again.`,
      );
    }
    return { status: 200, body: { confirmed: true, topic: message.TopicArn } };
  }
  let notification: unknown;
  try {
    notification = JSON.parse(message.Message);
  } catch {
    throw new Refusal(
      fail(400, 'invalid_event', 'The SNS Message is not JSON (an SES notification). Nothing was stored.'),
    );
  }
  return parsed(parseSesNotification(notification, now));
}

function postmarkAuthenticate(deps: RelayWebhookDeps, request: Request): void {
  const { user, password } = deps.providers.postmark!;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.headers.get('authorization') ?? '')?.[1];
  const given = basic ? Buffer.from(basic, 'base64').toString('utf8') : undefined;
  if (!given || !sameSecret(given, `${user}:${password}`))
    throw new Refusal(
      fail(
        401,
        'unauthorized',
        'Set the user and password of POSTMARK_WEBHOOK_USER/_PASSWORD on the webhook URL (basic auth).',
        {
          'www-authenticate': 'Basic realm="footfall-webhooks", charset="UTF-8"',
        },
      ),
      true,
    );
}

async function mailgunReports(deps: RelayWebhookDeps, bytes: Uint8Array, now: number): Promise<ParsedEvents> {
  const body = parseJson(bytes);
  const signature =
    typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>).signature
      : undefined;
  const sig = (typeof signature === 'object' && signature !== null ? signature : {}) as Record<string, unknown>;
  const timestamp = typeof sig.timestamp === 'number' ? String(sig.timestamp) : sig.timestamp;
  if (typeof timestamp !== 'string' || typeof sig.token !== 'string' || typeof sig.signature !== 'string')
    throw unauthorized('The body has no signature {timestamp, token, signature}.');
  const expected = createHmac('sha256', deps.providers.mailgun!.signingKey)
    .update(timestamp + sig.token)
    .digest();
  const given = /^[0-9a-f]{64}$/i.test(sig.signature) ? Buffer.from(sig.signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw unauthorized('The signature does not match (HMAC-SHA256 of timestamp and token with the signing key).');
  if (!/^\d{1,12}$/.test(timestamp) || !signedTimeIsFresh(Number(timestamp), now))
    throw unauthorized('The signature is stale: its timestamp is more than 15 minutes from now.');
  if (!(await deps.rateLimits.check(MAILGUN_TOKENS, sig.token, now)).allowed)
    throw new Refusal(fail(406, 'replayed', 'This signature token was used before; nothing was stored.'));
  const events = parsed(parseMailgunEvent((body as Record<string, unknown>)['event-data'], now));
  await deps.rateLimits.hit(MAILGUN_TOKENS, sig.token, now);
  return events;
}

let sendgridKey: { pem: string; key: ReturnType<EventWebhook['convertPublicKeyToECDSA']> } | undefined;

function sendgridReports(deps: RelayWebhookDeps, request: Request, bytes: Uint8Array, now: number): ParsedEvents {
  const signature = request.headers.get('x-twilio-email-event-webhook-signature');
  const timestamp = request.headers.get('x-twilio-email-event-webhook-timestamp');
  if (!signature || !timestamp)
    throw unauthorized('Send X-Twilio-Email-Event-Webhook-Signature and -Timestamp (the signed event webhook).');
  const webhook = new EventWebhook();
  const pem = deps.providers.sendgrid!.publicKey;
  if (sendgridKey?.pem !== pem) sendgridKey = { pem, key: webhook.convertPublicKeyToECDSA(pem) };
  let valid: boolean;
  try {
    valid = webhook.verifySignature(sendgridKey.key, Buffer.from(bytes), signature, timestamp);
  } catch {
    valid = false;
  }
  if (!valid) throw unauthorized('The signature does not match the body and timestamp (SENDGRID_WEBHOOK_PUBLIC_KEY).');
  if (!/^\d{1,12}$/.test(timestamp) || !signedTimeIsFresh(Number(timestamp), now))
    throw unauthorized('The signature is stale: its timestamp is more than 15 minutes from now.');
  return parsed(parseSendgridEvents(parseJson(bytes), now));
}

// ── the whole webhook ──────────────────────────────────────────────────────────────────────

export async function handleRelayWebhook(
  relay: Relay,
  deps: RelayWebhookDeps,
  request: Request,
  address: string,
  now = Date.now(),
): Promise<RelayWebhookAnswer> {
  if (!deps.providers[relay])
    return fail(401, 'unauthorized', `The ${relay} bounce webhook is switched off: set ${ENV[relay]} on the server.`);
  const blocked = await deps.rateLimits.check(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
  if (!blocked.allowed)
    return fail(429, 'too_many_failures', 'Too many failed attempts from this address; try again later.', {
      'retry-after': String(blocked.retryAfterSeconds),
    });
  try {
    if (relay === 'postmark') postmarkAuthenticate(deps, request);
    const type = request.headers.get('content-type') ?? '';
    if (!JSON_TYPE.test(type) && !(relay === 'ses' && TEXT_TYPE.test(type)))
      return fail(
        415,
        'unsupported_media_type',
        relay === 'ses'
          ? 'Send the SNS message as SNS does ("Content-Type: text/plain") or as JSON.'
          : 'Send JSON with "Content-Type: application/json".',
      );
    const limit = BODY_LIMITS.relayWebhook;
    const read = await readRequestBytes(request, limit);
    if (!read.ok)
      return read.reason === 'too_large'
        ? fail(413, 'too_large', `The body is larger than ${formatLimit(limit)}.`)
        : fail(400, 'bad_body', 'The request body could not be read (the upload was interrupted).');
    let events: ParsedEvents;
    if (relay === 'ses') {
      const outcome = await sesReports(deps, request, read.bytes, now);
      if ('status' in outcome) return outcome;
      events = outcome;
    } else if (relay === 'postmark') events = parsed(parsePostmarkEvent(parseJson(read.bytes), now));
    else if (relay === 'mailgun') events = await mailgunReports(deps, read.bytes, now);
    else events = sendgridReports(deps, request, read.bytes, now);
    return { status: 200, body: await recordAll(deps.db, events.reports, events.ignored, now) };
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    if (error.authFailure) await deps.rateLimits.hit(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
    return error.answer;
  }
}

async function recordAll(db: DB, reports: readonly BounceReport[], ignored: number, now: number) {
  let recorded = 0;
  let duplicates = 0;
  let unmatched = 0;
  for (const report of reports) {
    const outcome = await recordBounce(db, report, now);
    if (outcome.recorded) recorded++;
    else if (outcome.duplicate) duplicates++;
    else unmatched++;
  }
  return { recorded, duplicates, unmatched, ignored };
}
