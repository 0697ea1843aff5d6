import type { DB } from '../db/database.ts';
import { isClickPlaceholder } from '../issues/render.ts';
import { loadSnapshot } from '../issues/issues.service.ts';
import { compilePlaceholders } from '../mail/placeholders.ts';
import { countOf } from '../text/counts.ts';

/**
 * The click map (issue 17, item 19): the issue's email as it went out — its frozen snapshot,
 * rendered once by MJML — with each tracked link outlined and, beside it, a badge with its
 * number in the links table, its human clicks and the people who made them. Shown in a
 * sandboxed frame: the links lead nowhere and the open pixel is taken out, so looking at the map
 * records nothing.
 */
export interface ClickMapLink {
  id: number;
  position: number;
  kind: string;
  humanClicks: number;
  uniqueClickers: number;
}

const CLICK_MARK = 'ff-click-map-link-';
const PIXEL_MARK = 'ff-click-map-pixel';
const ANCHOR = new RegExp(`<a\\b([^>]*?)\\s+href="[^"]*${CLICK_MARK}(\\d+)[^"]*"([^>]*)>([\\s\\S]*?)</a>`, 'gi');
const PIXEL = new RegExp(`<img\\b[^>]*${PIXEL_MARK}[^>]*>`, 'gi');

const STYLE = `<style>
[data-click-map] { outline: 3px solid #c2410c; outline-offset: 2px; border-radius: 2px; }
.ff-click-badge { display: inline-block; margin: 2px 4px; padding: 2px 8px; border-radius: 10px; font: 700 12px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; white-space: nowrap; vertical-align: middle; text-decoration: none; }
</style>`;

/** Lighter for few clicks, darker for the most: the badge's colours by the link's share of the busiest link's clicks. */
function badgeColours(clicks: number, most: number): string {
  if (clicks === 0) return 'background:#e7e5e4;color:#44403c;';
  const lightness = Math.round(80 - 45 * (clicks / Math.max(most, 1)));
  return `background:hsl(21,90%,${lightness}%);color:${lightness < 58 ? '#fff' : '#1c1917'};`;
}

export const badgeText = (link: Pick<ClickMapLink, 'position' | 'humanClicks' | 'uniqueClickers'>): string =>
  `${link.position}: ${countOf(link.humanClicks, 'click')} · ${countOf(link.uniqueClickers, { one: 'person', other: 'people' })}`;

/** Where a link goes, short: host and path of a web address (its tracking tags left out), a mailto: or tel: as written. */
export function linkDestination(url: string): string {
  if (!/^https?:/i.test(url)) return url;
  try {
    const { host, pathname } = new URL(url);
    return pathname === '/' ? host : host + pathname;
  } catch {
    return url;
  }
}

/** The snapshot's HTML with its links marked (positions as in the links table) and no pixel, for a sandboxed frame. */
export function clickMapHtml(snapshotHtml: string, links: readonly ClickMapLink[]): string {
  const template = compilePlaceholders(snapshotHtml, 'click map');
  let html = template.parts[0]!;
  template.names.forEach((name, i) => {
    const position = isClickPlaceholder(name);
    html +=
      (position !== undefined ? `${CLICK_MARK}${position}` : name === 'open' ? PIXEL_MARK : '#') +
      template.parts[i + 1]!;
  });
  const byPosition = new Map(links.map((l) => [l.position, l]));
  const most = Math.max(0, ...links.filter((l) => l.kind !== 'honeypot').map((l) => l.humanClicks));
  html = html
    .replace(PIXEL, '')
    .replace(ANCHOR, (_, before: string, position: string, after: string, inner: string) => {
      const link = byPosition.get(Number(position));
      if (!link || link.kind === 'honeypot') return `<a${before}${after}>${inner}</a>`;
      return `<a${before}${after} data-click-map="${link.position}">${inner}</a><span class="ff-click-badge" style="${badgeColours(link.humanClicks, most)}">${badgeText(link)}</span>`;
    });
  return /<\/head>/i.test(html) ? html.replace(/<\/head>/i, `${STYLE}</head>`) : STYLE + html;
}

/** The click map of a sent issue, or undefined before its snapshot exists (nothing went out). */
export async function issueClickMap(
  db: DB,
  issueId: number,
  figures: readonly Omit<ClickMapLink, 'position'>[],
): Promise<{ html: string; clickTracking: boolean } | undefined> {
  const snapshot = await loadSnapshot(db, issueId);
  if (!snapshot) return undefined;
  const byId = new Map(figures.map((f) => [f.id, f]));
  const links = snapshot.links.map((l) => ({
    id: l.id,
    position: l.position,
    kind: l.kind,
    humanClicks: byId.get(l.id)?.humanClicks ?? 0,
    uniqueClickers: byId.get(l.id)?.uniqueClickers ?? 0,
  }));
  return { html: clickMapHtml(snapshot.html, links), clickTracking: snapshot.clickTracking };
}
