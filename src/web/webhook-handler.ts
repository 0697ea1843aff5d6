import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../lib/app/context.ts';
import { getSettings, peekSettings } from '../lib/settings/settings.service.ts';
import { handleCallWebhook, type WebhookAnswer, type WebhookRequest } from './call-webhook.ts';
import { handleCallrailWebhook, handleTwilioWebhook } from './provider-call-webhooks.ts';
import { declaredBody, refuseBody, requestBody, type BodyBudget } from './http/body-guard.ts';
import { readBodyBytes, type BodyBytes } from './http/request-body.ts';
import { firstRawHeader } from './http/raw-headers.ts';

/**
 * The call webhooks served by the server entry before Astro (src/server.ts), like the tracking
 * fast path: a provider posts a burst of calls, and Astro's request pipeline costs about ten
 * times a bare handler (docs/performance.md). The server entry has already applied the body
 * limit of /api/webhooks (413 before anything is read) and set the security headers; the
 * handlers check the secret or signature, the content type and the fields, and store the call
 * through the event writer (answered only once its transaction committed).
 *
 *   POST /api/webhooks/calls      the generic call webhook (src/web/call-webhook.ts)
 *   POST /api/webhooks/twilio     Twilio status callbacks (src/web/provider-call-webhooks.ts)
 *   POST /api/webhooks/callrail   CallRail post-call webhooks (idem)
 *
 * The Astro routes of the same paths (src/pages/api/webhooks) answer through `answerCallWebhook`
 * too: they serve `astro dev`, where no server entry runs.
 */
export const CALL_WEBHOOK_ROUTES = ['/api/webhooks/calls', '/api/webhooks/twilio', '/api/webhooks/callrail'] as const;
export type CallWebhookRoute = (typeof CALL_WEBHOOK_ROUTES)[number];

export function isCallWebhookPost(method: string | undefined, route: string): route is CallWebhookRoute {
  return method === 'POST' && (CALL_WEBHOOK_ROUTES as readonly string[]).includes(route);
}

/** One call webhook's answer, whoever serves the request. */
export async function answerCallWebhook(
  app: AppContext,
  route: CallWebhookRoute,
  request: WebhookRequest,
  address: string,
  now = Date.now(),
): Promise<WebhookAnswer> {
  // Cached: no query a request (read once when none are cached yet).
  const settings = peekSettings(app.db) ?? (await getSettings(app.db));
  const common = {
    calls: app.calls,
    serverSecret: app.secret,
    timeZone: settings.timeZone,
    rateLimits: app.rateLimits,
  };
  if (route === '/api/webhooks/calls')
    return handleCallWebhook({ ...common, webhookSecret: app.config.callsWebhookSecret }, request, address, now);
  const deps = {
    ...common,
    siteUrl: settings.siteUrl,
    twilioAuthToken: app.config.twilioAuthToken,
    callrailSigningKey: app.config.callrailSigningKey,
  };
  return route === '/api/webhooks/twilio'
    ? handleTwilioWebhook(deps, request, address, now)
    : handleCallrailWebhook(deps, request, address, now);
}

/**
 * A body whose Content-Length is declared (what providers send), read with plain stream events:
 * Node delivers exactly that many bytes, so the length is the only check, and the async
 * iteration readBodyBytes uses (a few promise hops a chunk) is saved on every call.
 */
function readDeclaredBody(req: IncomingMessage, maxBytes: number, length: number): Promise<BodyBytes> {
  if (length > maxBytes) return Promise.resolve({ ok: false, reason: 'too_large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve({ ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
    req.once('error', () => resolve({ ok: false, reason: 'interrupted' }));
    req.once('close', () => {
      if (!req.complete) resolve({ ok: false, reason: 'interrupted' });
    });
  });
}

/** A node:http request as a WebhookRequest: headers read from rawHeaders, the body counted as it arrives. */
function nodeWebhookRequest(req: IncomingMessage, budget: BodyBudget): WebhookRequest {
  return {
    header: (name) => firstRawHeader(req.rawHeaders, name),
    target: req.url ?? '/',
    body: async (maxBytes) => {
      const declared = declaredBody(req.rawHeaders);
      const read =
        declared.length !== undefined && !declared.chunked
          ? await readDeclaredBody(req, maxBytes, declared.length)
          : await readBodyBytes(requestBody(req), maxBytes, declared.length);
      if (!read.ok && read.reason === 'too_large') budget.exceeded = true;
      return read;
    },
  };
}

export const webhookHeaders = (answer: WebhookAnswer): Record<string, string> => ({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  ...answer.headers,
});

/** Serves a call webhook from the server entry; settles once answered. */
export async function handleCallWebhookRequest(
  req: IncomingMessage,
  res: ServerResponse,
  app: AppContext,
  route: CallWebhookRoute,
  address: string,
  budget: BodyBudget,
): Promise<void> {
  const answer = await answerCallWebhook(app, route, nodeWebhookRequest(req, budget), address);
  // A body over the limit gets the server entry's 413, as every route's (and the connection closes).
  if (budget.exceeded) {
    refuseBody(req, res, route, budget.limit, budget.declaredLimit);
    return;
  }
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, { ...webhookHeaders(answer), 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
