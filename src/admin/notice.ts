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
