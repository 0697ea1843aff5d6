import { isValidEmailAddress } from '../text/mailbox.ts';
import type { IssueLinkKind } from '../db/schema.ts';

/** What a link in an issue is, or why it cannot go out. */
export type HrefClass =
  { ok: true; kind: Exclude<IssueLinkKind, 'honeypot'>; url: string } | { ok: false; reason: string };

export const MAX_URL_LENGTH = 2000;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const TEL = /^\+?[0-9][0-9 ().-]{2,30}$/;

/**
 * Classifies an href as written in the issue (entities already decoded): an http(s) link to
 * our own site (relative paths resolve against it) or elsewhere, `mailto:` or `tel:`.
 * Anything else — `javascript:`, `data:`, `#fragment`, a malformed address — is refused with
 * the reason, and never becomes a registered redirect target.
 */
export function classifyHref(href: string, siteUrl: string): HrefClass {
  const value = href.trim();
  if (value === '') return { ok: false, reason: 'has no address' };
  if (/[\0-\x1f\x7f]/.test(value)) return { ok: false, reason: 'contains control characters' };
  if (value.length > MAX_URL_LENGTH)
    return { ok: false, reason: `is longer than ${MAX_URL_LENGTH.toLocaleString('en')} characters` };
  if (value.startsWith('#'))
    return { ok: false, reason: 'points inside the email, which most mail clients cannot follow' };
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'mailto') {
    const [to, query] = value.slice('mailto:'.length).split('?', 2) as [string, string | undefined];
    let addresses: string[];
    try {
      addresses = decodeURIComponent(to)
        .split(',')
        .map((a) => a.trim());
    } catch {
      return { ok: false, reason: 'is a mailto: link with broken percent-encoding' };
    }
    if (addresses.length === 0 || !addresses.every(isValidEmailAddress))
      return { ok: false, reason: 'is a mailto: link without a valid address' };
    return { ok: true, kind: 'mailto', url: `mailto:${to}${query === undefined ? '' : `?${query}`}` };
  }
  if (scheme === 'tel') {
    let number: string;
    try {
      number = decodeURIComponent(value.slice('tel:'.length));
    } catch {
      return { ok: false, reason: 'is a tel: link with broken percent-encoding' };
    }
    if (!TEL.test(number)) return { ok: false, reason: 'is a tel: link without a phone number' };
    return { ok: true, kind: 'tel', url: `tel:${number.replace(/[ ().-]/g, '')}` };
  }
  if (scheme && scheme !== 'http' && scheme !== 'https')
    return { ok: false, reason: `uses ${scheme}: — only http(s), mailto: and tel: links work in email` };
  let url: URL;
  try {
    url = new URL(value, siteUrl + '/');
  } catch {
    return { ok: false, reason: 'is not a valid web address' };
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname)
    return { ok: false, reason: 'is not a valid web address' };
  if (url.username || url.password) return { ok: false, reason: 'carries a user name or password' };
  return { ok: true, kind: url.origin === new URL(siteUrl).origin ? 'site' : 'external', url: url.href };
}

/** The path of a site URL as the checks compare it: no query, no fragment, no trailing slash ("/" stays). */
export function sitePath(url: string): string {
  const { pathname } = new URL(url);
  let path: string;
  try {
    path = decodeURI(pathname);
  } catch {
    path = pathname;
  }
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** "Read the article" → "read-the-article": a readable utm_content. */
function contentSlug(label: string): string {
  return label
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
}

/** The utm_content of a link: its position, then its label, e.g. "3-read-the-article". */
export function utmContent(position: number, label: string): string {
  const slug = contentSlug(label);
  return slug ? `${position}-${slug}` : String(position);
}

/**
 * An own-site link as registered: utm_source=newsletter, utm_medium=email,
 * utm_campaign=<issue slug>, utm_content=<position-label> (ours replace any given).
 */
export function withUtm(url: string, campaign: string, content: string): string {
  const tagged = new URL(url);
  tagged.searchParams.set('utm_source', 'newsletter');
  tagged.searchParams.set('utm_medium', 'email');
  tagged.searchParams.set('utm_campaign', campaign);
  tagged.searchParams.set('utm_content', content);
  return tagged.href;
}
