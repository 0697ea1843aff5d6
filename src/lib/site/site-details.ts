import { escapeHtml } from '../mail/placeholders.ts';
import { normalizePhone } from '../phone/phone-number.ts';
import type { OpeningHoursLine, Settings } from '../settings/settings.ts';

/**
 * What the public site says about the business — its name, place, address, phone and opening
 * hours — comes from Settings, so an admin's change shows at once, on every page.
 *
 * Prerendered pages are built without a database, so where these details go they carry a
 * slot token (U+E000 name U+E001: a private-use character no text contains); the server entry
 * fills the tokens from the current settings as it serves the file (src/web/http/static-site.ts),
 * once per change of the details, not per request. Server-rendered pages fill the same slots
 * while they render. Either way the markup comes from the renderers below.
 */
export interface SiteDetails {
  siteName: string;
  placeName: string;
  postalAddress: string;
  phone: string;
  openingHours: readonly OpeningHoursLine[];
  /** The footer's © year: the details change when the year does. */
  year: number;
  /** Equal for equal details: what a filled page is cached under. */
  key: string;
}

type DetailSettings = Pick<Settings, 'siteName' | 'placeName' | 'postalAddress' | 'phone' | 'openingHours'>;

let last: SiteDetails | undefined;
// Read on every static page served: worked out once per settings object (the settings cache
// hands out a new frozen one when it refreshes, every few seconds), not per request.
const bySettings = new WeakMap<DetailSettings, { details: SiteDetails; until: number }>();

/** The site's details from the settings, the same object while they do not change. */
export function siteDetailsOf(settings: DetailSettings, now = Date.now()): SiteDetails {
  const known = bySettings.get(settings);
  if (known && now < known.until) return known.details;
  const details = detailsFrom(settings, now);
  // Until the year (of the footer's ©) ends.
  bySettings.set(settings, { details, until: Date.UTC(details.year + 1, 0, 1) });
  return details;
}

function detailsFrom(settings: DetailSettings, now: number): SiteDetails {
  const fields = {
    siteName: settings.siteName,
    placeName: settings.placeName,
    postalAddress: settings.postalAddress,
    phone: settings.phone,
    openingHours: settings.openingHours,
    year: new Date(now).getUTCFullYear(),
  };
  const key = JSON.stringify(fields);
  if (last?.key === key) return last;
  last = Object.freeze({ ...fields, key });
  return last;
}

const text = (value: string) => escapeHtml(value);
const lines = (value: string) =>
  value
    .split(/\s*\n\s*/)
    .filter(Boolean)
    .map(text)
    .join('<br />');
const phoneHref = (phone: string) => `tel:${normalizePhone(phone) ?? ''}`;

function hoursList(hours: readonly OpeningHoursLine[]): string {
  return `<dl class="hours">${hours.map((h) => `<div><dt>${text(h.days)}</dt><dd>${text(h.time)}</dd></div>`).join('')}</dl>`;
}

function footer(d: SiteDetails): string {
  const sections: string[] = [];
  if (d.postalAddress)
    sections.push(
      `<section aria-labelledby="footer-visit"><h2 id="footer-visit">Visit us</h2><address>${lines(d.postalAddress)}</address></section>`,
    );
  if (d.phone) {
    sections.push(
      `<section aria-labelledby="footer-call"><h2 id="footer-call">Call us</h2><p><a class="phone" href="${text(phoneHref(d.phone))}">${text(d.phone)}</a></p><p class="footer-note">Questions? We are happy to help on the phone.</p></section>`,
    );
  }
  if (d.openingHours.length > 0)
    sections.push(
      `<section aria-labelledby="footer-hours"><h2 id="footer-hours">Opening hours</h2>${hoursList(d.openingHours)}</section>`,
    );
  const grid = sections.length > 0 ? `<div class="wrap footer-grid">${sections.join('')}</div>` : '';
  return (
    grid +
    `<div class="wrap footer-bottom"><p>© ${d.year} ${text(d.siteName)}</p><ul class="footer-links"><li><a href="/articles/">All articles</a></li><li><a href="/tags/">Tags</a></li><li><a href="/rss.xml">RSS feed</a></li></ul></div>`
  );
}

/** The slots, each rendered from the details as HTML (text slots escaped for text and attribute values alike). */
const RENDERERS = {
  /** The site's name as text: titles, the header, feeds. */
  siteName: (d: SiteDetails) => text(d.siteName),
  /** The header's name and, under it, the place. */
  brand: (d: SiteDetails) =>
    `<span class="brand-name">${text(d.siteName)}</span>${d.placeName ? `<span class="brand-town">${text(d.placeName)}</span>` : ''}`,
  /** " in Port Foozle" after "right here", or nothing. */
  inPlace: (d: SiteDetails) => (d.placeName ? ` in ${text(d.placeName)}` : ''),
  /** The home page's "Call …" button, or nothing without a phone number. */
  callButton: (d: SiteDetails) =>
    d.phone ? `<a class="button button--ghost" href="${text(phoneHref(d.phone))}">Call ${text(d.phone)}</a>` : '',
  /** The home page's card: address, phone and opening hours, each when set. */
  shopCard: (d: SiteDetails) => {
    const parts = [
      d.postalAddress ? lines(d.postalAddress) : '',
      d.phone ? `<a href="${text(phoneHref(d.phone))}">${text(d.phone)}</a>` : '',
    ].filter(Boolean);
    if (parts.length === 0 && d.openingHours.length === 0) return '';
    return `<aside class="store-card" aria-labelledby="store-card-title"><h2 id="store-card-title">Visit us</h2>${parts.length > 0 ? `<address>${parts.join('<br />')}</address>` : ''}${d.openingHours.length > 0 ? hoursList(d.openingHours) : ''}</aside>`;
  },
  /** The article footer's invitation: where to come by and the number to call, as far as they are known. */
  visitLine: (d: SiteDetails) => {
    const address = d.postalAddress
      .split(/\s*\n\s*/)
      .filter(Boolean)
      .join(', ');
    const call = d.phone ? `call us on <a href="${text(phoneHref(d.phone))}">${text(d.phone)}</a>` : '';
    if (address && call) return `Come by at ${text(address)}, or ${call}.`;
    if (address) return `Come by at ${text(address)}.`;
    if (call) return `Questions? Just ${call}.`;
    return '';
  },
  footer,
} as const satisfies Record<string, (d: SiteDetails) => string>;

export type SiteSlot = keyof typeof RENDERERS;

const TOKEN = /\uE000([A-Za-z]{1,32})\uE001/g;

/** The token a prerendered page carries where `slot` goes. */
export function siteSlotToken(slot: SiteSlot): string {
  return `\uE000${slot}\uE001`;
}

export function renderSiteSlot(slot: SiteSlot, details: SiteDetails): string {
  return RENDERERS[slot](details);
}

/** A text split at its slot tokens: the parts between them and the slots, or undefined when it has none. */
export interface SlottedText {
  parts: string[];
  slots: SiteSlot[];
}

export function splitAtSlots(value: string): SlottedText | undefined {
  const parts: string[] = [];
  const slots: SiteSlot[] = [];
  let from = 0;
  for (const match of value.matchAll(TOKEN)) {
    if (!Object.hasOwn(RENDERERS, match[1]!)) continue;
    parts.push(value.slice(from, match.index));
    slots.push(match[1] as SiteSlot);
    from = match.index + match[0].length;
  }
  if (slots.length === 0) return undefined;
  parts.push(value.slice(from));
  return { parts, slots };
}

/** The text with every slot filled from the details. */
export function fillSiteSlots(text: SlottedText, details: SiteDetails): string {
  let out = text.parts[0]!;
  for (let i = 0; i < text.slots.length; i++) out += renderSiteSlot(text.slots[i]!, details) + text.parts[i + 1]!;
  return out;
}
