import { defineMiddleware, sequence } from 'astro:middleware';
import { ActionError, getActionContext } from 'astro:actions';
import { appContext } from './lib/app/context.ts';
import { recordPageView } from './lib/analytics/page-views.service.ts';
import { isCountedPath } from './lib/analytics/page-view.ts';
import { adminActionPermission } from './web/admin-routes.ts';
import { checkAccess } from './web/guard.ts';
import { SESSION_COOKIE, validateSessionToken } from './lib/auth/session.service.ts';
import { deleteSessionCookie, setSessionCookie } from './web/session-cookie.ts';
import { tooLargeAnswer } from './web/http/body-limits.ts';
import { parseRequestPath } from './web/http/request-path.ts';
import { FALLBACK_PAGE_CSP, NON_PAGE_CSP } from './web/http/security-headers.ts';
import { carryActionResult, pageOfAction, takeActionResult } from './admin/notice.ts';

const PRIVATE_PATH = /^\/(admin|api|_actions)(\/|$)/;
const ADMIN_PAGE = /^\/admin(\/|$)/;

/** The path as Astro routed the request (decoded): what prefixes are tested on (src/web/http/request-path.ts). */
function routeOf(url: URL): string {
  return parseRequestPath(url.pathname)?.route ?? url.pathname;
}

/**
 * A chunked body that ran past its route's limit was cut off by the server entry (body-guard.ts);
 * whatever the route made of the part it read — a 400, an action's error — the answer is 413.
 */
const boundedBodies = defineMiddleware(async (context, next) => {
  const budget = context.locals.bodyBudget;
  if (!budget || context.isPrerendered) return next();
  const tooLarge = () => {
    const answer = tooLargeAnswer(
      routeOf(context.url),
      {
        accept: context.request.headers.get('accept') ?? undefined,
        contentType: context.request.headers.get('content-type') ?? undefined,
      },
      budget.limit,
      budget.declaredLimit,
    );
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };
  let response: Response;
  try {
    response = await next();
  } catch (error) {
    if (budget.exceeded) return tooLarge();
    throw error;
  }
  return budget.exceeded ? tooLarge() : response;
});

/**
 * Session cookie → locals.user / locals.session. Also refuses admin actions to those who may
 * not run them before their input is even read (each action checks again itself), and marks
 * private answers `Cache-Control: no-store`.
 */
const accounts = defineMiddleware(async (context, next) => {
  if (context.isPrerendered) return next();
  const token = context.cookies.get(SESSION_COOKIE)?.value;
  if (token && !context.locals.user) {
    const app = await appContext();
    const validated = await validateSessionToken(app.db, token);
    if (validated) {
      context.locals.user = validated.user;
      context.locals.session = validated.session;
      if (validated.refreshed)
        setSessionCookie(context.cookies, token, validated.session.expiresAt, app.config.siteUrl);
    } else {
      deleteSessionCookie(context.cookies);
    }
  }

  const actionContext = getActionContext(context);
  const { action } = actionContext;
  const permission = action && adminActionPermission(action.name);
  if (action && permission) {
    const access = checkAccess(context.locals.user, permission);
    if (access !== 'allowed') {
      const error =
        access === 'unauthenticated'
          ? new ActionError({ code: 'UNAUTHORIZED', message: 'Sign in first.' })
          : new ActionError({ code: 'FORBIDDEN', message: 'Your role does not allow this.' });
      const result = actionContext.serializeActionResult({ data: undefined, error });
      if (action.calledFrom === 'rpc') {
        return new Response(result.type === 'error' ? result.body : null, {
          status: error.status,
          headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        });
      }
      actionContext.setActionResult(action.name, result);
    }
  }

  const response = await next();
  // Astro writes the policy of the pages it renders; anything else gets one too (src/web/http/security-headers.ts).
  if (!response.headers.has('content-security-policy')) {
    setHeader(
      response,
      'content-security-policy',
      response.headers.get('content-type')?.startsWith('text/html') ? FALLBACK_PAGE_CSP : NON_PAGE_CSP,
    );
  }
  if (PRIVATE_PATH.test(routeOf(context.url)) || context.locals.user) setHeader(response, 'cache-control', 'no-store');
  if (context.locals.retryAfterSeconds) setHeader(response, 'retry-after', String(context.locals.retryAfterSeconds));
  return response;
});

function setHeader(response: Response, name: string, value: string): void {
  try {
    response.headers.set(name, value);
  } catch {
    // Immutable headers (a Response.redirect): nothing to add to.
  }
}

/**
 * Post/redirect/get for every admin form: a form action that succeeded, on a page that answers
 * 200, is answered 303 to the same page without `?_action=` (a reload re-posts nothing), the
 * result carried once in a short-lived cookie so the page shows it as before. A refused one
 * renders in place with what was typed; a page that redirects itself keeps its own answer.
 */
const postRedirectGet = defineMiddleware(async (context, next) => {
  if (context.isPrerendered || !ADMIN_PAGE.test(routeOf(context.url))) return next();
  const actionContext = getActionContext(context);
  const { action } = actionContext;
  if (!action) {
    if (context.request.method === 'GET') {
      const carried = takeActionResult<ReturnType<typeof actionContext.serializeActionResult>>(context);
      if (carried) actionContext.setActionResult(carried.name, carried.result);
    }
    return next();
  }
  if (action.calledFrom !== 'form') return next();
  const result = await action.handler();
  const serialized = actionContext.serializeActionResult(result);
  actionContext.setActionResult(action.name, serialized);
  const response = await next();
  if (result.error || response.status !== 200) return response;
  const page = pageOfAction(context.url);
  if (!carryActionResult(context, page, action.name, serialized)) return response;
  return context.redirect(page, 303);
});

/** Counts server-rendered public pages; prerendered ones are counted by the server entry. */
const pageViews = defineMiddleware(async (context, next) => {
  const response = await next();
  if (
    context.isPrerendered ||
    context.request.method !== 'GET' ||
    response.status !== 200 ||
    !response.headers.get('content-type')?.startsWith('text/html') ||
    !isCountedPath(routeOf(context.url))
  ) {
    return response;
  }
  const app = await appContext();
  const headers = context.request.headers;
  try {
    await recordPageView(app, {
      url: context.url.pathname + context.url.search,
      referrer: headers.get('referer') ?? undefined,
      userAgent: headers.get('user-agent') ?? undefined,
      ownHost: headers.get('host') ?? undefined,
      ip: context.locals.clientAddress ?? context.clientAddress,
      cookie: headers.get('cookie'),
    });
  } catch {
    // Logged by the writer; the page is still served.
  }
  return response;
});

export const onRequest = sequence(boundedBodies, accounts, postRedirectGet, pageViews);
