import { appContext } from '../lib/app/context.ts';
import { getSettings } from '../lib/settings/settings.service.ts';
import { renderSiteSlot, siteDetailsOf, siteSlotToken, type SiteSlot } from '../lib/site/site-details.ts';

export interface SiteSlots {
  /** A slot as HTML, for `set:html`. */
  html(slot: SiteSlot): string;
  /** The site's name as text, for titles and attributes (Astro escapes it). */
  siteName: string;
}

/**
 * The site's details (Settings) where a page shows them. A prerendered page of a production
 * build gets slot tokens, which the server entry fills as it serves the file; a page rendered
 * on request (or any page under `npm run dev`) gets the values themselves. One markup either way:
 * src/lib/site/site-details.ts.
 */
export async function siteSlots(astro: { isPrerendered: boolean }): Promise<SiteSlots> {
  // MODE, not PROD: PROD follows NODE_ENV, which a build run from a test process sets to "test".
  if (astro.isPrerendered && import.meta.env.MODE !== 'development')
    return { html: siteSlotToken, siteName: siteSlotToken('siteName') };
  const details = siteDetailsOf(await getSettings((await appContext()).db));
  return { html: (slot) => renderSiteSlot(slot, details), siteName: details.siteName };
}
