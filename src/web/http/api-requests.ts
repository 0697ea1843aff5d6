import type { IncomingMessage } from 'node:http';

/**
 * `/api/` routes authenticate with an API key in the Authorization header only, never with
 * the session cookie, so a forged cross-site request (a browser sending its cookie along with
 * a request another site made) can do nothing through them. Astro's origin check, made for
 * cookie-authenticated forms, would refuse legitimate clients there — a DELETE, or a POST
 * without an Origin header — so before Astro sees an API request, the server entry drops its
 * cookie and marks it as same-origin.
 */
/** Decided on the normalised, decoded path (src/web/http/request-path.ts), as Astro routes it. */
export const API_FOLDER = '/api';

export function prepareApiRequest(req: IncomingMessage): void {
  delete req.headers.cookie;
  const host = req.headers.host;
  if (!host) return;
  const encrypted = 'encrypted' in req.socket && Boolean(req.socket.encrypted);
  req.headers.origin = `${encrypted ? 'https' : 'http'}://${host}`;
}
