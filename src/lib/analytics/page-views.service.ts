import type { VisitorHasher } from './visitor-hash.service.ts';
import { describePageView, type PageRequest } from './page-view.ts';
import type { PageViewEvent } from './visits.ts';
import { attributionCookieValue, readAttribution } from '../tracking/attribution.ts';

export interface PageViewSink {
  write(kind: 'page_view', row: PageViewEvent): Promise<void>;
}

/** What attribution needs: the secret that signs the cookie and the window (days) from Settings. */
export interface AttributionDeps {
  secret: string;
  attributionWindowDays: () => number;
}

/**
 * Counts one page view: resolves once the row is committed, so a page is answered only
 * after its view is durable. With `attribution` deps and the request's Cookie header, a view
 * carrying the attribution cookie is attributed to its issue; the issue of a utm_campaign and
 * the visit are worked out in the writer's batch (src/lib/analytics/visits.ts).
 */
export async function recordPageView(
  deps: { writer: PageViewSink; visitors: VisitorHasher; attribution?: AttributionDeps },
  request: PageRequest & { ip: string; cookie?: string | null },
  now = Date.now(),
): Promise<void> {
  const view = describePageView(request, now);
  const visitor_hash = await deps.visitors.hash(request.ip, request.userAgent ?? '', now);
  const cookie = deps.attribution ? attributionCookieValue(request.cookie) : undefined;
  const windowDays = deps.attribution?.attributionWindowDays() ?? 7;
  const attribution = cookie ? (readAttribution(deps.attribution!.secret, cookie, now, windowDays) ?? null) : null;
  await deps.writer.write('page_view', { ...view, visitor_hash, issue_id: null, subscriber_id: null, attribution, windowMs: windowDays * 86_400_000 });
}
