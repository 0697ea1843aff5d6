import type { VisitorHasher } from './visitor-hash.service.ts';
import { describePageView, type PageRequest } from './page-view.ts';
import type { PageViewEvent } from './visits.ts';
import type { EventHandle } from '../events/event-writer.ts';
import { attributionCookieValue, readAttribution } from '../tracking/attribution.ts';
import { clickMarkerValue, readClickMarker } from '../tracking/click-marker.ts';
import { readerCookieValue, readReader } from '../tracking/reader-cookie.ts';
import { isMachineNetwork, ownerKey, ownerWithRole, type NetworkLookup } from '../tracking/hit-source.ts';

export type PageViewSink = EventHandle<PageViewEvent>;

/** What attribution needs: the secret that signs the cookies and the window (days) from Settings. */
export interface AttributionDeps {
  secret: string;
  attributionWindowDays: () => number;
}

/**
 * Counts one page view: resolves once the row is committed, so a page is answered only
 * after its view is durable. With `attribution` deps and the request's Cookie header, a view
 * carrying the attribution cookie is attributed to its issue, and one carrying a click's marker
 * follows that click's class; with `networks`, a view from a machine network with no reader's
 * click behind it is a machine's. The issue of a utm_campaign, whose view it is and its visit
 * are worked out in the writer's batch (src/lib/analytics/visits.ts).
 */
export async function recordPageView(
  deps: { pageViews: PageViewSink; visitors: VisitorHasher; attribution?: AttributionDeps; networks?: NetworkLookup },
  request: PageRequest & { ip: string; cookie?: string | null },
  now = Date.now(),
): Promise<void> {
  const view = describePageView(request, now);
  const visitor_hash = await deps.visitors.hash(request.ip, request.userAgent ?? '', now);
  const secret = deps.attribution?.secret;
  const cookie = secret ? attributionCookieValue(request.cookie) : undefined;
  const windowDays = deps.attribution?.attributionWindowDays() ?? 7;
  const attribution = cookie ? (readAttribution(secret!, cookie, now, windowDays) ?? null) : null;
  const marker = secret ? clickMarkerValue(request.cookie) : undefined;
  const clickMarker = marker ? (readClickMarker(secret!, marker, now) ?? null) : null;
  const readerValue = secret ? readerCookieValue(request.cookie) : undefined;
  const reader = readerValue ? (readReader(secret!, readerValue, now)?.subscriberId ?? null) : null;
  const owner = deps.networks?.lookup(request.ip);
  const machineNetwork =
    owner && isMachineNetwork(owner.role) ? `from ${ownerWithRole(owner)}, with no reader’s click` : null;
  await deps.pageViews.write({
    ...view,
    visitor_hash,
    issue_id: null,
    subscriber_id: null,
    asn: owner?.asn ?? null,
    net: owner?.role ?? null,
    attribution,
    clickMarker,
    machineNetwork,
    ...(owner ? { owner: ownerKey(owner) } : {}),
    windowMs: windowDays * 86_400_000,
    reader,
  });
}
