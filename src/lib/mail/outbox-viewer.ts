import type { DB } from '../db/database.ts';
import { findLinksByIds } from '../issues/issues.repository.ts';
import { readClickToken } from '../tracking/tokens.ts';
import { readOutboxMessageFor } from './outbox-access.ts';
import type { OutboxMessage } from './outbox.ts';
import { escapeHtml } from './placeholders.ts';

/**
 * Outbox messages are real newsletter messages: their open pixel and links carry a real
 * recipient's tokens, so showing one as it is would count an open for that recipient (and a
 * click, when the admin follows a link). The viewer shows a copy that records nothing:
 *
 * - the open pixel (`…/t/o/<token>`) becomes an inert 1×1 `data:` image: nothing is fetched;
 * - a tracked link (`…/t/c/<token>`) points straight at the link registered for it, without its
 *   `utm_*` tags, and says so in its title (with the link as registered). An admin checking an
 *   email expects its links to lead where they lead — a dead link would look like a broken
 *   email — but nothing done in the viewer may count as the recipient's doing, and a landing
 *   with the utm_campaign would count as an attributed visit. A token that does not
 *   verify, or names no registered link, loses its href.
 *
 * The same goes for the plain-text part, whose links are written out as text.
 */

/** Any tracking URL: absolute or site-relative, the pixel (o) or a click (c). */
const TRACKING_URL = /(?:https?:\/\/[^\s"'<>()[\]]*?)?\/t\/([oc])\/([A-Za-z0-9_-]+)/g;
const INERT_PIXEL = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

export interface ViewerCopy {
  html: string;
  text: string;
}

/** Where a tracked link leads without being counted: its registered target, utm_* removed. */
function untracked(url: string): string {
  if (!/^https?:/i.test(url)) return url; // tel:, mailto:
  const target = new URL(url);
  for (const key of [...target.searchParams.keys()]) if (key.startsWith('utm_')) target.searchParams.delete(key);
  return target.href;
}

/** The registered target of each click token in `sources` that verifies and names a link (one query). */
async function clickTargets(db: DB, secret: string, sources: readonly string[]): Promise<Map<string, string>> {
  const linkIds = new Map<string, number>();
  for (const source of sources) {
    for (const [, kind, token] of source.matchAll(TRACKING_URL)) {
      if (kind !== 'c' || linkIds.has(token!)) continue;
      const read = readClickToken(secret, token);
      if (read) linkIds.set(token!, read.linkId);
    }
  }
  const links = new Map(
    (await findLinksByIds(db, [...new Set(linkIds.values())])).map((row) => [Number(row.id), row.url]),
  );
  const targets = new Map<string, string>();
  for (const [token, linkId] of linkIds) {
    const url = links.get(linkId);
    if (url !== undefined) targets.set(token, url);
  }
  return targets;
}

function rewriteAnchors(html: string, targets: ReadonlyMap<string, string>): string {
  return html.replace(/<a\b[^>]*>/gi, (tag) => {
    const href = /\shref\s*=\s*("([^"]*)"|'([^']*)')/i.exec(tag);
    const value = href?.[2] ?? href?.[3];
    if (!href || value === undefined) return tag;
    const token = [...value.matchAll(TRACKING_URL)].find((m) => m[1] === 'c')?.[2];
    if (token === undefined) return tag;
    const target = targets.get(token);
    const rest = tag.replace(href[0], '').replace(/\stitle\s*=\s*("[^"]*"|'[^']*')/i, '');
    const title = target
      ? `Opens the link directly (not counted as the recipient’s click): ${target}`
      : 'A tracked link that names no registered link: not followed from the outbox';
    const attributes = target
      ? ` href="${escapeHtml(untracked(target))}" title="${escapeHtml(title)}"`
      : ` title="${escapeHtml(title)}"`;
    return rest.replace(/^<a\b/i, `<a${attributes}`);
  });
}

/** Whatever tracking URL is left (the pixel, a link written out as text): inert. */
function neutralise(source: string, targets: ReadonlyMap<string, string>, asHtml: boolean): string {
  return source.replace(TRACKING_URL, (_, kind: string, token: string) => {
    if (kind === 'o') return INERT_PIXEL;
    const target = targets.get(token);
    const shown = target ? untracked(target) : '(tracked link)';
    return asHtml ? escapeHtml(shown) : shown;
  });
}

/** The message's HTML and text part with every open pixel and tracked link made inert (see above). */
export async function untrackedCopy(deps: { db: DB; secret: string }, message: ViewerCopy): Promise<ViewerCopy> {
  const targets = await clickTargets(deps.db, deps.secret, [message.html, message.text]);
  return {
    html: neutralise(rewriteAnchors(message.html, targets), targets, true),
    text: neutralise(message.text, targets, false),
  };
}

/** One outbox message as the viewer shows it (see readOutboxMessageFor for who may read which), tracking made inert. */
export async function readOutboxMessageForViewer(
  deps: { db: DB; secret: string },
  dir: string,
  file: string,
  mayReadAccountMail: boolean,
): Promise<OutboxMessage | undefined> {
  const message = await readOutboxMessageFor(dir, file, mayReadAccountMail);
  if (!message) return undefined;
  return { ...message, ...(await untrackedCopy(deps, message)) };
}
