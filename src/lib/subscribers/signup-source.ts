/**
 * The campaign that brought a signup: the utm_campaign of the page the form was on, read
 * from the Referer of the form's POST (our own pages only; a foreign referrer is ignored).
 */
export function campaignFromReferrer(referrer: string | null, ownHost: string): string | null {
  if (!referrer) return null;
  try {
    const url = new URL(referrer);
    if (url.host !== ownHost) return null;
    const campaign = url.searchParams.get('utm_campaign')?.trim();
    return campaign ? campaign.replace(/[\0-\x1f]/g, '').slice(0, 200) : null;
  } catch {
    return null;
  }
}
