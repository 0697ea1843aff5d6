import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../lib/app/context.ts';
import { BODY_LIMITS } from './http/body-limits.ts';
import { declaredBody, refuseBody, requestBody } from './http/body-guard.ts';
import { readBodyBytes } from './http/request-body.ts';
import { isUnder } from './http/request-path.ts';
import { readSubscriberToken } from '../lib/subscribers/links.ts';
import { unsubscribe } from '../lib/subscribers/subscribers.service.ts';

/** POSTs under it are RFC 8058 one-click unsubscribes, served by the server entry. */
export const ONE_CLICK_FOLDER = '/unsubscribe';
const ONE_CLICK_PREFIX = `${ONE_CLICK_FOLDER}/`;

/**
 * A POST to an unsubscribe URL as mail providers send it (RFC 8058). The page's own forms
 * ("Subscribe again", "Email me a link") post Astro actions (`?_action=…`) and go to Astro.
 */
export function isOneClickPost(method: string | undefined, path: { route: string; search: string }): boolean {
  if (method !== 'POST' || !isUnder(path.route, ONE_CLICK_FOLDER)) return false;
  return path.search === '' || !new URLSearchParams(path.search).has('_action');
}

function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text + '\n');
}

/** The body names List-Unsubscribe=One-Click, form-encoded (what providers send) or multipart. */
async function asksForOneClick(body: Buffer, contentType: string | undefined): Promise<boolean> {
  try {
    const form = contentType?.startsWith('multipart/form-data')
      ? await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData()
      : new URLSearchParams(body.toString('utf8'));
    return form.get('List-Unsubscribe') === 'One-Click';
  } catch {
    return false;
  }
}

/**
 * RFC 8058 one-click unsubscribe: `POST /unsubscribe/<token>` with the body
 * `List-Unsubscribe=One-Click` (form-encoded or multipart) unsubscribes at once — no cookie,
 * login or Origin needed, which is why it is served here, before Astro's origin check.
 * Mail providers get a plain 200; a browser (the button on the GET page) is sent back to
 * that page, which then shows the result.
 */
export async function handleOneClickUnsubscribe(
  req: IncomingMessage,
  res: ServerResponse,
  app: AppContext,
  now = Date.now(),
): Promise<void> {
  const path = (req.url ?? '').split('?', 1)[0]!;
  const token = path.slice(ONE_CLICK_PREFIX.length); // tokens are base64url: nothing to decode
  const limit = BODY_LIMITS.oneClickUnsubscribe;
  const body = await readBodyBytes(requestBody(req), limit, declaredBody(req.rawHeaders).length);
  if (!body.ok && body.reason === 'too_large') {
    refuseBody(req, res, path, limit);
    return;
  }
  if (!body.ok) {
    reply(res, 400, 'The request body could not be read.');
    return;
  }
  if (!(await asksForOneClick(Buffer.from(body.bytes), req.headers['content-type']))) {
    reply(res, 400, 'A one-click unsubscribe POST must carry List-Unsubscribe=One-Click.');
    return;
  }
  const link = readSubscriberToken({ secret: app.secret, siteUrl: app.config.siteUrl }, token);
  if (!link) {
    reply(res, 400, 'This unsubscribe link is not valid; nothing was changed.');
    return;
  }
  const outcome = await unsubscribe(app.db, link.subscriberId, { method: 'one-click', issueId: link.issueId }, now);
  if (outcome === 'not_found') {
    reply(res, 404, 'No subscription for this link.');
    return;
  }
  if ((req.headers.accept ?? '').includes('text/html')) {
    res.writeHead(303, { location: path, 'cache-control': 'no-store' });
    res.end();
    return;
  }
  reply(res, 200, outcome === 'already' ? 'Already unsubscribed.' : 'Unsubscribed.');
}
