import { isbot } from 'isbot';
import type { NewPageView } from './page-views.repository.ts';

export interface PageRequest {
  /** Path and query as received, e.g. "/articles/x/?utm_campaign=may". */
  url: string;
  referrer: string | undefined;
  userAgent: string | undefined;
  /** Host of this site, so internal navigation is not counted as a referrer. */
  ownHost: string | undefined;
}

const MAX_PATH = 1024;
const MAX_FIELD = 200;

/** Text that both databases accept: well-formed UTF-16, no NUL, bounded length. */
export function cleanText(value: string, max = MAX_FIELD): string {
  return value.replace(/\0/g, '').toWellFormed().slice(0, max);
}

function optionalText(value: string | null | undefined): string | null {
  if (value == null) return null;
  const cleaned = cleanText(value.trim());
  return cleaned === '' ? null : cleaned;
}

export function deviceClass(userAgent: string): NewPageView['device'] {
  if (!userAgent) return 'unknown';
  if (/iPad|Tablet|Nexus (7|9|10)|SM-T\d|Kindle|Silk\/|Android(?!.*Mobile)/i.test(userAgent)) return 'tablet';
  if (/Mobi|iPhone|iPod|Android.*Mobile|Windows Phone|BlackBerry|Opera Mini/i.test(userAgent)) return 'mobile';
  return 'desktop';
}

function referrerHost(referrer: string | undefined, ownHost: string | undefined): string | null {
  if (!referrer) return null;
  try {
    const host = new URL(referrer).host.toLowerCase();
    if (!host || host === ownHost?.toLowerCase()) return null;
    return cleanText(host);
  } catch {
    return null;
  }
}

const agentCache = new Map<string, { device: NewPageView['device']; is_bot: number }>();

/** Bot and device class of a user agent; remembered, since a burst of readers shares a handful of agents. */
export function classifyAgent(userAgent: string): { device: NewPageView['device']; is_bot: number } {
  let known = agentCache.get(userAgent);
  if (!known) {
    if (agentCache.size >= 2000) agentCache.clear();
    known = { device: deviceClass(userAgent), is_bot: userAgent === '' || isbot(userAgent) ? 1 : 0 };
    agentCache.set(userAgent, known);
  }
  return known;
}

/**
 * The row for one page view, without the visitor hash (the caller adds it). Reads the
 * path, the external referrer's host and the utm_* parameters; keeps nothing else.
 */
export function describePageView(request: PageRequest, at: number): Omit<NewPageView, 'visitor_hash'> {
  const url = new URL(request.url, 'http://x');
  const q = url.searchParams;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    path = url.pathname;
  }
  const agent = classifyAgent(request.userAgent ?? '');
  return {
    at,
    path: cleanText(path, MAX_PATH),
    referrer_host: referrerHost(request.referrer, request.ownHost),
    utm_source: optionalText(q.get('utm_source')),
    utm_medium: optionalText(q.get('utm_medium')),
    utm_campaign: optionalText(q.get('utm_campaign')),
    utm_content: optionalText(q.get('utm_content')),
    utm_term: optionalText(q.get('utm_term')),
    device: agent.device,
    is_bot: agent.is_bot,
  };
}

const NOT_COUNTED =
  /^\/(admin|api|_actions|_astro|_image|_server-islands|t)(\/|$)|^\/(healthz|favicon\.[a-z]+|robots\.txt|rss\.xml|sitemap[^/]*\.xml)$/;

/** Public HTML pages are counted; the admin, APIs, assets, feeds and health checks are not. */
export function isCountedPath(pathname: string): boolean {
  return !NOT_COUNTED.test(pathname);
}
