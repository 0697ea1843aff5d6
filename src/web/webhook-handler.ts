import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../lib/app/context.ts';
import type { Settings } from '../lib/settings/settings.ts';
import { getSettings, peekSettings } from '../lib/settings/settings.service.ts';
import { handleCallWebhook, type WebhookAnswer, type WebhookRequest } from './call-webhook.ts';
import { handleCallrailWebhook, handleTwilioWebhook, type ProviderWebhookDeps } from './provider-call-webhooks.ts';
import {
  declaredBody,
  guardBody,
  refuseBody,
  requestBody,
  type BodyBudget,
  type DeclaredBody,
} from './http/body-guard.ts';
import { bodyAllowance } from './http/body-limits.ts';
import { readBodyBytes, type BodyBytes } from './http/request-body.ts';
import { firstRawHeader } from './http/raw-headers.ts';
import { baseSecurityHeaders, NON_PAGE_CSP } from './http/security-headers.ts';
import { ipOf } from './tracking-handler.ts';

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

/** What the webhooks need of the app and its settings, made again only when the cached settings change. */
interface WebhookDeps {
  settings: Readonly<Settings>;
  generic: Parameters<typeof handleCallWebhook>[0];
  providers: ProviderWebhookDeps;
}
const depsByApp = new WeakMap<AppContext, WebhookDeps>();

function webhookDeps(app: AppContext, settings: Readonly<Settings>): WebhookDeps {
  const known = depsByApp.get(app);
  if (known?.settings === settings) return known;
  const common = {
    calls: app.calls,
    serverSecret: app.secret,
    timeZone: settings.timeZone,
    rateLimits: app.rateLimits,
  };
  const deps: WebhookDeps = {
    settings,
    generic: { ...common, webhookSecret: app.config.callsWebhookSecret },
    providers: {
      ...common,
      siteUrl: settings.siteUrl,
      twilioAuthToken: app.config.twilioAuthToken,
      callrailSigningKey: app.config.callrailSigningKey,
    },
  };
  depsByApp.set(app, deps);
  return deps;
}

/** One call webhook's answer, whoever serves the request. */
export function answerCallWebhook(
  app: AppContext,
  route: CallWebhookRoute,
  request: WebhookRequest,
  address: string,
  now = Date.now(),
): Promise<WebhookAnswer> {
  // Cached: no query a request (read once when none are cached yet).
  const settings = peekSettings(app.db);
  if (!settings)
    return getSettings(app.db).then((read) => answerWith(webhookDeps(app, read), route, request, address, now));
  return answerWith(webhookDeps(app, settings), route, request, address, now);
}

function answerWith(
  deps: WebhookDeps,
  route: CallWebhookRoute,
  request: WebhookRequest,
  address: string,
  now: number,
): Promise<WebhookAnswer> {
  if (route === '/api/webhooks/calls') return handleCallWebhook(deps.generic, request, address, now);
  return route === '/api/webhooks/twilio'
    ? handleTwilioWebhook(deps.providers, request, address, now)
    : handleCallrailWebhook(deps.providers, request, address, now);
}

/**
 * A body whose Content-Length is declared (what providers send), read with plain stream events:
 * Node delivers exactly that many bytes, so the length is the only check, and the async
 * iteration readBodyBytes uses (a few promise hops a chunk) is saved on every call.
 */
function readDeclaredBody(
  req: IncomingMessage,
  maxBytes: number,
  length: number,
  budget: BodyBudget,
): Promise<BodyBytes> {
  if (length > maxBytes) {
    budget.exceeded = true;
    return Promise.resolve({ ok: false, reason: 'too_large' });
  }
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
function nodeWebhookRequest(req: IncomingMessage, budget: BodyBudget, declared: DeclaredBody): WebhookRequest {
  return {
    header: (name) => firstRawHeader(req.rawHeaders, name),
    target: req.url ?? '/',
    body: (maxBytes) =>
      declared.length !== undefined && !declared.chunked
        ? readDeclaredBody(req, maxBytes, declared.length, budget)
        : readBodyBytes(requestBody(req), maxBytes, declared.length).then((read) => {
            if (!read.ok && read.reason === 'too_large') budget.exceeded = true;
            return read;
          }),
  };
}

const JSON_TYPE = 'application/json; charset=utf-8';

export const webhookHeaders = (answer: WebhookAnswer): Record<string, string> => ({
  'content-type': JSON_TYPE,
  'cache-control': 'no-store',
  ...answer.headers,
});

export type CallWebhookServer = (
  req: IncomingMessage,
  res: ServerResponse,
  route: CallWebhookRoute,
  expectsContinue: boolean,
) => Promise<void> | undefined;

/**
 * The server entry's handler of the call webhooks; settles once answered. It applies the body
 * limit of /api/webhooks itself (413 before anything is read, as every route's), and writes each
 * answer's headers in one flat list: the security headers with the policy of an answer that is
 * not a page, JSON, no-store.
 */
export function callWebhookServer(app: AppContext): CallWebhookServer {
  const security = baseSecurityHeaders(app.config.siteUrl, NON_PAGE_CSP);
  const headers: readonly string[] = [...security.flat(), 'content-type', JSON_TYPE, 'cache-control', 'no-store'];
  const allowance = bodyAllowance('webhook');
  // The 413s are body-guard.ts's own answers, with the security headers merged in.
  const refuse = (res: ServerResponse, refusal: () => void) => {
    for (const [name, value] of security) res.setHeader(name, value);
    refusal();
  };
  return (req, res, route, expectsContinue) => {
    const declared = declaredBody(req.rawHeaders);
    if (declared.length !== undefined && declared.length > allowance.limit) {
      refuse(res, () => guardBody(req, res, route, allowance, declared));
      return undefined;
    }
    const budget = guardBody(req, res, route, allowance, declared)!;
    if (expectsContinue) res.writeContinue();
    const request = nodeWebhookRequest(req, budget, declared);
    return answerCallWebhook(app, route, request, ipOf(req, app)).then((answer) => {
      if (budget.exceeded) {
        refuse(res, () => refuseBody(req, res, route, budget.limit, budget.declaredLimit));
        return;
      }
      const body = answer.json ?? JSON.stringify(answer.body);
      const bytes = Buffer.byteLength(body);
      const list = [...headers, 'content-length', String(bytes)];
      if (answer.headers) for (const name in answer.headers) list.push(name, answer.headers[name]!);
      res.writeHead(answer.status, list);
      // Every answer but a few error messages is ASCII, which latin1 writes with the headers more cheaply.
      res.end(body, bytes === body.length ? 'latin1' : 'utf8');
    });
  };
}
