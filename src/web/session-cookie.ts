import { SESSION_COOKIE, sessionCookieOptions } from '../lib/auth/session.service.ts';

/** The part of Astro's cookie jar the session cookie needs (context.cookies, Astro.cookies). */
export interface CookieJar {
  set(name: string, value: string, options: ReturnType<typeof sessionCookieOptions>): void;
  delete(name: string, options: { path: string }): void;
}

/** `footfall_session=<id.secret>; HttpOnly; SameSite=Lax; Path=/; Expires=…` and `Secure` for an https site. */
export function setSessionCookie(cookies: CookieJar, token: string, expiresAt: number, siteUrl: string): void {
  cookies.set(SESSION_COOKIE, token, sessionCookieOptions(siteUrl, expiresAt));
}

export function deleteSessionCookie(cookies: CookieJar): void {
  cookies.delete(SESSION_COOKIE, { path: '/' });
}
