/**
 * The browser security headers, in one place.
 *
 * Content-Security-Policy: Astro writes it for every page it renders (security.csp in
 * astro.config.mjs: script-src with a hash of each of its scripts, inline or bundled, and
 * these directives); for prerendered pages it lists the same per page in _headers.json, which
 * the server entry sends with the file (static-site.ts). Scripts run only from this site's own
 * bundles. Styles may be inline: chart legends and email previews use style attributes, Observable
 * Plot adds a <style> to each chart, and an email shown in a srcdoc frame inherits the page's
 * policy with its own <style> blocks and remote images. Nothing may frame a page (the
 * preferences page has an erase button), except the outbox viewer's message frame, which sets its own.
 *
 * Every answer but /t/ also gets nosniff, a Referrer-Policy that sends other sites the origin
 * only (tokens live in paths: /preferences/<token>), X-Frame-Options for browsers without
 * frame-ancestors, and Strict-Transport-Security when SITE_URL is https.
 */

/** Astro's script-src and style-src sources (hashes are added to script-src by Astro). */
export const CSP_SCRIPT_SOURCES = ["'self'"];
export const CSP_STYLE_SOURCES = ["'self'", "'unsafe-inline'"];

/** The other directives of every page's policy. */
export const CSP_DIRECTIVES: `${'default-src' | 'img-src' | 'font-src' | 'object-src' | 'base-uri' | 'form-action' | 'frame-ancestors'} ${string}`[] =
  [
    "default-src 'self'",
    "img-src 'self' data: https:",
    "font-src 'self' data: https:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ];

/** For an HTML answer Astro wrote no policy for (its 404 page read from disk): the pages' policy without script hashes. */
export const FALLBACK_PAGE_CSP = [
  `script-src ${CSP_SCRIPT_SOURCES.join(' ')}`,
  `style-src ${CSP_STYLE_SOURCES.join(' ')}`,
  ...CSP_DIRECTIVES,
].join('; ');

/** For everything that is not a page (JSON, CSV, text, redirects): nothing to load, nothing may frame it. */
export const NON_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * The headers every answer outside /t/ starts with; a route may override one (Astro's pages their
 * policy, the outbox viewer its frame headers). The policy here is for what reaches no route:
 * Astro's 404 page, read from disk without the middleware. `policy` NON_PAGE_CSP: for an answer
 * the server entry writes itself that is not a page (the call webhooks' JSON).
 */
export function baseSecurityHeaders(
  siteUrl: string,
  policy: string = FALLBACK_PAGE_CSP,
): readonly (readonly [string, string])[] {
  const headers: [string, string][] = [
    ['content-security-policy', policy],
    ['x-content-type-options', 'nosniff'],
    ['referrer-policy', 'strict-origin-when-cross-origin'],
    ['x-frame-options', 'DENY'],
  ];
  if (siteUrl.startsWith('https:')) headers.push(['strict-transport-security', 'max-age=31536000']);
  return headers;
}
