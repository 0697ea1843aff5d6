/**
 * The gates every admin page, API route and action calls itself (the middleware only fills
 * `locals.user` from the session cookie; it is never the only check).
 *
 *   // an .astro page under src/pages/admin
 *   const user = await requirePage(Astro, 'subscribers.manage');
 *   if (user instanceof Response) return user;   // → login redirect, or the 403 page
 *
 *   // an endpoint under src/pages/api
 *   const principal = await requireApi(context, 'subscribers.manage');
 *   if (principal instanceof Response) return principal;   // → 401 / 403 JSON
 *
 *   // an action: authorize(context, 'subscribers.manage') from src/actions/authorize.ts
 *
 * Register the route or action in admin-routes.ts so the role-matrix test covers it.
 */
import { appContext } from '../lib/app/context.ts';
import { authenticateApiKey, type ApiPrincipal } from '../lib/auth/api-keys.service.ts';
import { can, type Permission } from '../lib/auth/roles.ts';
import type { AuthUser } from '../lib/auth/session.service.ts';

export type Access = 'allowed' | 'unauthenticated' | 'forbidden';

export function checkAccess(principal: { role: AuthUser['role'] } | undefined | null, permission: Permission): Access {
  if (!principal) return 'unauthenticated';
  return can(principal.role, permission) ? 'allowed' : 'forbidden';
}

/** The parts of Astro's page context (`Astro`) the page gate needs. */
export interface PageContext {
  locals: App.Locals;
  url: URL;
  request: Request;
  redirect(path: string, status?: 302 | 303): Response;
  rewrite(path: string): Promise<Response>;
}

export const LOGIN_PATH = '/admin/login';
export const FORBIDDEN_PATH = '/admin/forbidden';

/** Where to go after signing in: only a path inside the admin, never another site. */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length > 500) return '/admin';
  if (!/^\/admin(?:[/?#]|$)/.test(next) || /[\\\s]|\/\/|%2f|%5c/i.test(next) || next.startsWith(LOGIN_PATH))
    return '/admin';
  return next;
}

export function loginPath(url: URL): string {
  const next = safeNextPath(url.pathname + url.search);
  return next === '/admin' ? LOGIN_PATH : `${LOGIN_PATH}?next=${encodeURIComponent(next)}`;
}

/**
 * For admin pages: the signed-in user when their role has the permission; otherwise the
 * Response to return at once — a redirect to the login page, or the 403 page.
 */
export async function requirePage(ctx: PageContext, permission: Permission): Promise<AuthUser | Response> {
  const user = ctx.locals.user;
  switch (checkAccess(user, permission)) {
    case 'allowed':
      return user!;
    case 'unauthenticated':
      return ctx.redirect(loginPath(ctx.url), ctx.request.method === 'GET' ? 302 : 303);
    case 'forbidden':
      return ctx.rewrite(FORBIDDEN_PATH);
  }
}

export function jsonError(status: 401 | 403, error: string, message: string): Response {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  };
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="footfall"';
  return new Response(JSON.stringify({ error, message }), { status, headers });
}

/**
 * For `/api/` routes: the API key (`Authorization: Bearer <key>`) when its role has the
 * permission; otherwise a JSON 401 (no key, unknown or revoked key) or 403 (wrong role).
 */
export async function requireApi(
  ctx: { request: Request },
  permission: Permission,
  now = Date.now(),
): Promise<ApiPrincipal | Response> {
  const app = await appContext();
  const principal = await authenticateApiKey(app.db, ctx.request.headers.get('authorization'), now);
  switch (checkAccess(principal, permission)) {
    case 'allowed':
      return principal!;
    case 'unauthenticated':
      return jsonError(401, 'unauthorized', 'Send a valid API key as "Authorization: Bearer <key>".');
    case 'forbidden':
      return jsonError(403, 'forbidden', `A key with the role "${principal!.role}" may not use this route.`);
  }
}
