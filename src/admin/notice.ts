import type { AstroCookies } from 'astro';

/**
 * Post/redirect/get for a saved form: after a successful save the page redirects to itself (a
 * clean URL: no `?_action=`, nothing re-posted on reload) and says what happened once, from a
 * short-lived cookie holding only the notice's name.
 */
const COOKIE = 'footfall_notice';
const OPTIONS = { path: '/admin', httpOnly: true, sameSite: 'lax', maxAge: 60 } as const;

interface PageContext {
  cookies: AstroCookies;
  redirect(path: string, status?: 301 | 302 | 303 | 307 | 308): Response;
  url: URL;
}

export function redirectWithNotice(astro: PageContext, path: string, notice: string): Response {
  astro.cookies.set(COOKIE, notice, { ...OPTIONS, secure: astro.url.protocol === 'https:' });
  return astro.redirect(path, 303);
}

/** The notice the last save left for this page (read once), when it is one of `known`. */
export function takeNotice<K extends string>(astro: PageContext, known: readonly K[]): K | undefined {
  const value = astro.cookies.get(COOKIE)?.value;
  if (value === undefined) return undefined;
  astro.cookies.delete(COOKIE, { path: OPTIONS.path });
  return (known as readonly string[]).includes(value) ? (value as K) : undefined;
}

/**
 * Post/redirect/get for every admin form (src/middleware.ts): a form action that succeeded is
 * answered 303 to its page without `?_action=`, and its result rides along once in a cookie
 * like the notice's, so the page says what happened as it did before. Results too large for a
 * cookie are shown in place instead.
 */
const RESULT_COOKIE = 'footfall_action_result';
/** Browsers keep cookies up to 4,096 bytes, name and attributes included; the value is stored URI-encoded. */
const MAX_CARRIED_BYTES = 3600;

interface CarriedResult<R> {
  name: string;
  path: string;
  result: R;
}

interface MiddlewareContext {
  cookies: AstroCookies;
  url: URL;
}

/** Keeps `result` of action `name` for the next GET of `path`; false when it is too large to carry. */
export function carryActionResult(context: MiddlewareContext, path: string, name: string, result: unknown): boolean {
  const value = JSON.stringify({ name, path, result } satisfies CarriedResult<unknown>);
  if (encodeURIComponent(value).length > MAX_CARRIED_BYTES) return false;
  context.cookies.set(RESULT_COOKIE, value, { ...OPTIONS, secure: context.url.protocol === 'https:' });
  return true;
}

/** The result carried to this page (read once). */
export function takeActionResult<R>(context: MiddlewareContext): { name: string; result: R } | undefined {
  const value = context.cookies.get(RESULT_COOKIE)?.value;
  if (value === undefined) return undefined;
  context.cookies.delete(RESULT_COOKIE, { path: OPTIONS.path });
  try {
    const carried = JSON.parse(value) as CarriedResult<R>;
    return carried.path === context.url.pathname + context.url.search
      ? { name: carried.name, result: carried.result }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The page a form action was posted to, without `?_action=`. */
export function pageOfAction(url: URL): string {
  const page = new URL(url);
  page.searchParams.delete('_action');
  return page.pathname + page.search;
}
