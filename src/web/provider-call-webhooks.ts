import type { CallWebhookDeps } from '../lib/offline/call-webhook.ts';
import { recordProviderCall } from '../lib/offline/call-webhook.ts';
import {
  isCallrailRequest,
  isTwilioRequest,
  parseCallrailCall,
  parseTwilioCall,
  type ParsedProviderCall,
} from '../lib/offline/provider-calls.ts';
import { WEBHOOK_FAILURES_PER_ADDRESS, type RateLimits } from '../lib/security/rate-limit.ts';
import type { WebhookAnswer, WebhookRequest } from './call-webhook.ts';
import type { OfflineEvent } from '../lib/offline/offline-events.ts';
import { BODY_LIMITS } from './http/body-limits.ts';

/**
 * The phone providers' own webhooks, beside the generic `POST /api/webhooks/calls`:
 *
 *   POST /api/webhooks/twilio     Twilio call status callbacks, application/x-www-form-urlencoded,
 *                                 X-Twilio-Signature checked with TWILIO_AUTH_TOKEN over the URL
 *                                 Twilio called (the site's public address + path + query) and
 *                                 the sorted parameters
 *   POST /api/webhooks/callrail   CallRail post-call webhooks, application/json, the Signature
 *                                 header checked with CALLRAIL_SIGNING_KEY over the raw body
 *
 * Answers: 201 stored, 200 a replay (the provider's call id was stored already) or a progress
 * status Twilio reports before the call ends (nothing stored), 400 unreadable fields (a message
 * each), 403 a missing or wrong signature (and everything while the key is not configured), 413
 * over 16 KB (refused by the server entry before it is read), 415 the wrong content type, 429
 * after repeated bad signatures from one network (a signed request is never held back). Nothing
 * is stored unless the answer is 201.
 */

export interface ProviderWebhookDeps extends Omit<CallWebhookDeps, 'webhookSecret'> {
  rateLimits: RateLimits;
  /** The site's public address ("https://shop.example"): the URL a provider signs starts with it. */
  siteUrl: string;
  twilioAuthToken: string | undefined;
  callrailSigningKey: string | undefined;
}

const MAX_BODY = BODY_LIMITS.webhook;

type Provider = 'twilio' | 'callrail';
const SETTING: Record<Provider, string> = { twilio: 'TWILIO_AUTH_TOKEN', callrail: 'CALLRAIL_SIGNING_KEY' };
const MEDIA: Record<Provider, { test: RegExp; name: string }> = {
  twilio: { test: /^application\/x-www-form-urlencoded\s*(;|$)/i, name: 'application/x-www-form-urlencoded' },
  callrail: { test: /^application\/(.+\+)?json\s*(;|$)/i, name: 'application/json' },
};

/** Authenticates, reads and stores one provider webhook; `verify` and `parse` are the provider's. */
async function handleProviderWebhook(
  provider: Provider,
  deps: ProviderWebhookDeps,
  request: WebhookRequest,
  address: string,
  now: number,
  verify: (bytes: Uint8Array) => boolean,
  parse: (bytes: Uint8Array) => ParsedProviderCall | 'bad_encoding',
): Promise<WebhookAnswer> {
  const media = MEDIA[provider];
  if (!media.test.test(request.header('content-type') ?? ''))
    return {
      status: 415,
      body: { error: 'unsupported_media_type', message: `Send the body as ${media.name}.` },
    };
  const read = await request.body(MAX_BODY);
  if (!read.ok)
    return read.reason === 'too_large'
      ? { status: 413, body: { error: 'too_large', message: `The body is over ${MAX_BODY} bytes.` } }
      : { status: 400, body: { error: 'bad_body', message: 'The request body could not be read.' } };
  // The failure limit is consulted only when the signature fails: a request the provider signed
  // is never held back (and the busy path makes no look-up for it).
  if (!verify(read.bytes)) {
    const blocked = await deps.rateLimits.check(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
    if (!blocked.allowed)
      return {
        status: 429,
        body: { error: 'too_many_failures', message: 'Too many failed attempts from this address; try again later.' },
        headers: { 'retry-after': String(blocked.retryAfterSeconds) },
      };
    await deps.rateLimits.hit(WEBHOOK_FAILURES_PER_ADDRESS, address, now);
    const configured = provider === 'twilio' ? deps.twilioAuthToken : deps.callrailSigningKey;
    return {
      status: 403,
      body: {
        error: 'bad_signature',
        message: configured
          ? 'The signature does not match this request.'
          : `This webhook is switched off: set ${SETTING[provider]} on the server.`,
      },
    };
  }
  const parsed = parse(read.bytes);
  if (parsed === 'bad_encoding')
    return { status: 400, body: { error: 'bad_body', message: 'The body is not valid UTF-8 or JSON.' } };
  if (!parsed.ok)
    return {
      status: 400,
      body: {
        error: 'invalid_fields',
        message: 'Some fields are not valid; nothing was stored.',
        fields: parsed.errors,
      },
    };
  if ('ignored' in parsed) return { status: 200, body: { stored: false, ignored: parsed.ignored } };
  const { event, duplicate } = await recordProviderCall(deps, parsed.call, `${provider}:${parsed.externalId}`, now);
  return storedCallAnswer(event, duplicate);
}

/** A whole number as JSON writes it; one past 2^31 is written in two parts, which V8 turns into text faster than the double. */
const integerJson = (n: number) => {
  if (!Number.isSafeInteger(n) || n < 1e9) return String(n);
  const high = Math.floor(n / 1e9);
  const low = n - high * 1e9;
  return `${high}${String(low).padStart(9, '0')}`;
};

/** The answer to a call stored (201) or replayed (200), its JSON written directly: the call webhooks' busy path. */
export function storedCallAnswer(event: OfflineEvent, duplicate: boolean): WebhookAnswer {
  const issueId = event.issueId === null ? 'null' : integerJson(event.issueId);
  return {
    status: duplicate ? 200 : 201,
    body: {
      stored: !duplicate,
      duplicate,
      event: { id: event.id, kind: event.kind, at: event.at, issue_id: event.issueId, answered: event.answered },
    },
    json: `{"stored":${!duplicate},"duplicate":${duplicate},"event":{"id":${integerJson(event.id)},"kind":${JSON.stringify(event.kind)},"at":${integerJson(event.at)},"issue_id":${issueId},"answered":${event.answered}}}`,
  };
}

// One decoder for every request: without `stream`, each decode starts afresh.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8 = (bytes: Uint8Array) => utf8Decoder.decode(bytes);

/** The URL Twilio called, as it saw it: the site's public address, this path and query string. */
export function twilioSignedUrl(siteUrl: string, request: WebhookRequest): string {
  return `${siteUrl.replace(/\/+$/, '')}${request.target}`;
}

export function handleTwilioWebhook(
  deps: ProviderWebhookDeps,
  request: WebhookRequest,
  address: string,
  now = Date.now(),
): Promise<WebhookAnswer> {
  let params: URLSearchParams | undefined;
  const read = (bytes: Uint8Array) => {
    try {
      params ??= new URLSearchParams(utf8(bytes));
    } catch {
      params = undefined;
    }
    return params;
  };
  return handleProviderWebhook(
    'twilio',
    deps,
    request,
    address,
    now,
    (bytes) => {
      const form = read(bytes);
      return (
        form !== undefined &&
        isTwilioRequest(
          deps.twilioAuthToken,
          request.header('x-twilio-signature'),
          twilioSignedUrl(deps.siteUrl, request),
          [...form],
        )
      );
    },
    (bytes) => {
      const form = read(bytes);
      return form ? parseTwilioCall(form, now) : 'bad_encoding';
    },
  );
}

export function handleCallrailWebhook(
  deps: ProviderWebhookDeps,
  request: WebhookRequest,
  address: string,
  now = Date.now(),
): Promise<WebhookAnswer> {
  return handleProviderWebhook(
    'callrail',
    deps,
    request,
    address,
    now,
    (bytes) => isCallrailRequest(deps.callrailSigningKey, request.header('signature'), bytes),
    (bytes) => {
      let body: unknown;
      try {
        body = JSON.parse(utf8(bytes));
      } catch {
        return 'bad_encoding';
      }
      return parseCallrailCall(body, deps.timeZone, now);
    },
  );
}
