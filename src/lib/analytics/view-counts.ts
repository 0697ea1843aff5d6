import type { CountDeltas } from '../counts/ledger.ts';
import { SITE } from '../counts/buckets.ts';
import type { PlainMetric } from '../counts/metrics.ts';

/** Page views made by machines (through a machine's click, or from a machine network with no reader's click): site-wide and per issue. */
export const MACHINE_VIEW_METRIC: PlainMetric = 'view.machine';

/** What one counted (a reader's) page view adds to the site's report counts; `n` -1 takes it back. */
export function countView(
  deltas: CountDeltas,
  view: { at: number; path: string; utm_campaign: string | null; referrer_host: string | null },
  issueId: number | null,
  n = 1,
): void {
  deltas.at(SITE, 'pageview', view.at, n);
  deltas.dimAt(SITE, 'path.views', view.path, view.at, n);
  if (issueId !== null) deltas.dimAt(SITE, 'path.newsletter', view.path, view.at, n);
  if (view.utm_campaign) deltas.dimAt(SITE, 'source.campaign', view.utm_campaign, view.at, n);
  if (view.referrer_host) deltas.dimAt(SITE, 'source.referrer', view.referrer_host, view.at, n);
}
