import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../lib/app/context.ts';
import { findLinkById } from '../lib/issues/issues.repository.ts';
import { urlTag, type ClickToken } from '../lib/tracking/tokens.ts';
import type { TrackedLink } from '../lib/tracking/tracking.service.ts';

const GONE_HTML = Buffer.from(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>This test link has expired</title>
<style>body{font:1.05rem/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1d2433}a{color:#1f5fbf}</style></head>
<body><h1>This test link has expired</h1>
<p>It was in a test or a preview of a newsletter that was still being written. Links in tests work for a day, and only while the draft still has them.</p>
<p>Writing the newsletter? Open its preview in the admin for links that work.</p>
<p><a href="/">Go to the home page</a></p></body></html>
`);

/**
 * Where a test or preview click may lead: the registered link, while the token is within its
 * hours, the link still has the URL the token was made for, and the draft still has the link
 * (read fresh, not from the link cache). Undefined otherwise.
 */
export async function testClickTarget(
  app: Pick<AppContext, 'db'>,
  token: ClickToken,
  link: TrackedLink,
  now: number,
): Promise<string | undefined> {
  if (token.expiresAt === undefined || token.urlTag === undefined || token.expiresAt < now) return undefined;
  if (urlTag(link.url) !== token.urlTag) return undefined;
  const row = await findLinkById(app.db, token.linkId);
  if (row?.retired_at !== null || row.url !== link.url) return undefined;
  return row.url;
}

/**
 * A click from a test send or preview: recorded nowhere, it redirects to its link as
 * testClickTarget allows, and otherwise answers 410 with a page that names no target — a
 * draft's link is whatever was typed, so an old test message must not be an open redirect.
 */
export async function answerTestClick(
  req: IncomingMessage,
  res: ServerResponse,
  app: Pick<AppContext, 'db'>,
  token: ClickToken,
  link: TrackedLink,
  now: number,
): Promise<void> {
  const target = await testClickTarget(app, token, link, now);
  if (target) {
    res.writeHead(302, {
      location: target,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer-when-downgrade',
    });
    res.end();
    return;
  }
  res.writeHead(410, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(GONE_HTML.length),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : GONE_HTML);
}
