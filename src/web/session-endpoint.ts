import { checkAccess, loginPath } from './guard.ts';
import type { Permission } from '../lib/auth/roles.ts';
import type { AuthUser } from '../lib/auth/session.service.ts';
import { readJsonBody as readJson } from './http/request-body.ts';

/**
 * The gate of an admin endpoint (ADMIN_ENDPOINTS in src/web/admin-routes.ts): a route
 * under /admin that answers a download or a script rather than a page. The session's user when
 * their role has the permission. Otherwise, like a page: the login page (a redirect) without a
 * session, 403 without the permission — except that a JSON request (a script's) gets a JSON 401
 * it can act on instead of a redirect. A request that changes something must also come from
 * this site: its `Origin` must be ours (browsers send it on every POST fetch), whatever its
 * content type — Astro's own check covers form content types only.
 */
export function requireSessionEndpoint(
  context: { locals: App.Locals; request: Request; url: URL },
  permission: Permission,
): AuthUser | Response {
  const { request, url } = context;
  switch (checkAccess(context.locals.user, permission)) {
    case 'unauthenticated':
      if (isJson(request))
        return jsonAnswer(401, { error: 'unauthorized', message: 'Your session has ended: sign in again.' });
      return new Response(null, {
        status: request.method === 'GET' ? 302 : 303,
        headers: { location: loginPath(url), 'cache-control': 'no-store' },
      });
    case 'forbidden':
      return jsonAnswer(403, { error: 'forbidden', message: 'Your role does not allow this.' });
  }
  if (request.method !== 'GET' && request.method !== 'HEAD' && request.headers.get('origin') !== url.origin) {
    return jsonAnswer(403, { error: 'cross_origin', message: 'This request must come from this site.' });
  }
  return context.locals.user!;
}

const isJson = (request: Request) =>
  /^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '') ||
  /application\/json/i.test(request.headers.get('accept') ?? '');

export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

/** The request's JSON body, at most `limit` bytes; a Response (400/413/415) when it is not that. */
export async function readJsonBody(request: Request, limit: number): Promise<{ value: unknown } | Response> {
  if (!/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) {
    return jsonAnswer(415, {
      error: 'unsupported_media_type',
      message: 'Send JSON with "Content-Type: application/json".',
    });
  }
  const body = await readJson(request, limit);
  if (body.ok) return { value: body.value };
  const error = body.status === 413 ? 'too_large' : body.status === 415 ? 'unsupported_media_type' : 'bad_json';
  return jsonAnswer(body.status, { error, message: body.message });
}
