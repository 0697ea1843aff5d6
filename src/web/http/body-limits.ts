import { isUnder } from './request-path.ts';

/**
 * How many bytes of request body each route takes: the one list. The server entry refuses
 * a body over its route's limit before it is buffered — at once when Content-Length says so,
 * otherwise as the bytes arrive — with 413 and the connection closed (src/web/http/body-guard.ts).
 * A body sent without its length (chunked) is held to UNDECLARED_BODY_LIMIT whatever the route
 * takes: browsers always say how long an upload is, and a stream of unknown length is where an
 * attacker's hundreds of megabytes come from. The routes' own readers use the same numbers, and
 * astro.config.mjs gives Astro the largest. The README's "Security" section lists them.
 */
const KB = 1024;
const MB = 1024 * 1024;

export const BODY_LIMITS = {
  /** Sign-in, signup, settings, preferences: every form and action not named below, and any other path. */
  form: 64 * KB,
  /** The issue editor's forms: a Markdown body of up to 200,000 characters, form-encoded. */
  issueForm: 2 * MB,
  /** The offline-events CSV upload (an action): a file of up to 1,000,000 bytes and the form around it. */
  offlineUpload: 1_000_000 + 64 * KB,
  /**
   * The subscriber import upload: a CSV of up to 20 MB, streamed to disk. A larger file is read
   * and dropped up to this size, so the browser is shown why on the import page; beyond it, 413.
   */
  subscriberImport: 100 * MB,
  /** The tally page's queued taps (JSON). */
  tallyTaps: 64 * KB,
  /** The JSON API (`/api/issues`, …). */
  api: 512 * KB,
  /** `POST /api/subscribers`: up to 10,000 subscribers in one JSON array. */
  apiSubscribers: 10 * MB,
  /** Call-tracking and bounce webhooks. */
  webhook: 16 * KB,
  /** The relays' native bounce webhooks (SES through SNS, Postmark, Mailgun, SendGrid): SendGrid posts batches of events up to about 768 KB. */
  relayWebhook: 1 * MB,
  /** Door counters' interval counts: a list of up to 1,000 (src/web/door-counts-webhook.ts). */
  doorCounts: 256 * KB,
  /** RFC 8058 one-click unsubscribe: `List-Unsubscribe=One-Click`. */
  oneClickUnsubscribe: 4 * KB,
  /** `/t/`: the pixel and clicks take no body (one that is sent is not read, and the connection is closed). */
  tracking: 0,
} as const;

export type BodyRoute = keyof typeof BODY_LIMITS;

/** The most a body sent without Content-Length may be, on any route. */
export const UNDECLARED_BODY_LIMIT = 1 * MB;

/** What a route takes: `limit` with its length declared, `undeclared` without. */
export interface BodyAllowance {
  limit: number;
  undeclared: number;
}

export function bodyAllowance(route: BodyRoute): BodyAllowance {
  const limit = BODY_LIMITS[route];
  return { limit, undeclared: Math.min(limit, UNDECLARED_BODY_LIMIT) };
}

/** Actions whose forms carry more than a few fields; every other action is `form`. */
const ACTION_LIMITS: Readonly<Record<string, BodyRoute>> = {
  'issues.create': 'issueForm',
  'issues.update': 'issueForm',
  'issues.renderPreview': 'issueForm',
  'offlineEvents.upload': 'offlineUpload',
  'doors.upload': 'offlineUpload',
};

/** The largest body any action takes: Astro's own action limit (security.actionBodySizeLimit). */
export const LARGEST_ACTION_BODY = Math.max(
  BODY_LIMITS.form,
  ...Object.values(ACTION_LIMITS).map((route) => BODY_LIMITS[route]),
);
/** The largest body any route takes: the @astrojs/node adapter's limit, behind the entry's own. */
export const LARGEST_BODY = Math.max(...Object.values(BODY_LIMITS));

/** The relays whose native bounce webhooks take `relayWebhook` bodies (src/web/bounce-webhooks.ts). */
export const RELAY_WEBHOOKS = ['ses', 'postmark', 'mailgun', 'sendgrid'] as const;
const RELAY_WEBHOOK_ROUTES = RELAY_WEBHOOKS.map((name) => `/api/webhooks/${name}`);

/**
 * Which limit a request falls under, from its route (decoded, normalised: src/web/http/request-path.ts)
 * and query string (form actions are named by `?_action=`).
 */
export function bodyRouteOf(route: string, search: string): BodyRoute {
  if (isUnder(route, '/t')) return 'tracking';
  if (isUnder(route, '/api')) {
    if (RELAY_WEBHOOK_ROUTES.some((folder) => isUnder(route, folder))) return 'relayWebhook';
    if (route === '/api/webhooks/door-counts') return 'doorCounts';
    if (isUnder(route, '/api/webhooks')) return 'webhook';
    return route === '/api/subscribers' || route === '/api/subscribers/' ? 'apiSubscribers' : 'api';
  }
  if (route === '/admin/subscribers/import/upload') return 'subscriberImport';
  if (route === '/admin/tally/taps') return 'tallyTaps';
  // The unsubscribe page's own forms post Astro actions (`?_action=…`); anything else there is a one-click POST.
  if (isUnder(route, '/unsubscribe') && !search.includes('_action=')) return 'oneClickUnsubscribe';
  const action = isUnder(route, '/_actions')
    ? route.slice('/_actions/'.length).replace(/\/$/, '')
    : search.includes('_action=')
      ? new URLSearchParams(search).get('_action')
      : undefined;
  return (action && Object.hasOwn(ACTION_LIMITS, action) && ACTION_LIMITS[action]) || 'form';
}

/** "64 KB", "2 MB": a limit as the 413 message says it. */
export function formatLimit(bytes: number): string {
  if (bytes >= MB) return `${Math.round((bytes / MB) * 10) / 10} MB`;
  return `${Math.max(1, Math.round(bytes / KB))} KB`;
}

export interface TooLargeAnswer {
  status: 413;
  headers: Record<string, string>;
  body: string;
}

/**
 * The 413 for a body over its route's limit (`limit`; `declaredLimit` when the body came without
 * its length and the route takes more with it), in the form the client reads: JSON for the
 * API, actions and scripts, a short page for a browser, plain text otherwise. The connection is
 * closed after it, so the rest of the body is never read.
 */
export function tooLargeAnswer(
  route: string,
  headers: { accept?: string | undefined; contentType?: string | undefined },
  limit: number,
  declaredLimit = limit,
): TooLargeAnswer {
  const message =
    limit === 0
      ? 'This address takes no request body.'
      : declaredLimit > limit
        ? `The request body is larger than ${formatLimit(limit)}, the most this address accepts without a Content-Length; send its length first (up to ${formatLimit(declaredLimit)}).`
        : `The request body is larger than ${formatLimit(limit)}, the most this address accepts.`;
  const common = { 'cache-control': 'no-store', connection: 'close', 'x-content-type-options': 'nosniff' };
  const wantsJson =
    isUnder(route, '/api') ||
    isUnder(route, '/_actions') ||
    /json/i.test(headers.contentType ?? '') ||
    (/json/i.test(headers.accept ?? '') && !/text\/html/i.test(headers.accept ?? ''));
  if (wantsJson) {
    return {
      status: 413,
      headers: { ...common, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ error: 'too_large', message }),
    };
  }
  if (/text\/html/i.test(headers.accept ?? '')) {
    const page = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Too large</title><h1>That was too large to send</h1><p>${message} Go back and send less.</p></html>\n`;
    return {
      status: 413,
      headers: {
        ...common,
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      },
      body: page,
    };
  }
  return { status: 413, headers: { ...common, 'content-type': 'text/plain; charset=utf-8' }, body: message + '\n' };
}
