import type { DB } from '../lib/db/database.ts';
import { getSettings, saveSettings, type Settings } from '../lib/settings/settings.service.ts';

/**
 * Frobozz Electric, the demo's shop: what the demo stores in Settings (a fresh install has no
 * sender, postal address, phone or opening hours of its own until an admin sets them).
 */
export const demoShop = {
  name: 'Frobozz Electric',
  sender: { name: 'Frobozz Electric', address: 'newsletter@frobozz.example' },
  postalAddress: 'Frobozz Electric\n12 Flathead Row\nPort Foozle',
  placeName: 'Port Foozle',
  phone: '(555) 0142',
  /** As announced in "New opening hours…" (from 1 October 2026). */
  hours: [
    { days: 'Monday', time: 'Closed' },
    { days: 'Tuesday – Wednesday', time: '9:30 – 17:30' },
    { days: 'Thursday', time: '9:30 – 20:00' },
    { days: 'Friday', time: '9:30 – 17:30' },
    { days: 'Saturday', time: '9:00 – 17:00' },
    { days: 'Sunday', time: '11:00 – 15:00' },
  ],
} as const;

/**
 * Stores the demo shop's details in Settings, through the settings form's own validation; the
 * time zone, site URL and tracking settings are kept as they are (the time zone then counts as
 * chosen). Returns the settings as saved.
 */
export async function applyDemoShopSettings(db: DB, now: number): Promise<Readonly<Settings>> {
  const current = await getSettings(db, { now });
  const saved = await saveSettings(
    db,
    {
      ...current,
      siteName: demoShop.name,
      senderName: demoShop.sender.name,
      senderAddress: demoShop.sender.address,
      replyTo: current.replyTo ?? '',
      postalAddress: demoShop.postalAddress,
      placeName: demoShop.placeName,
      phone: demoShop.phone,
      openingHours: demoShop.hours.map((h) => ({ ...h })),
    },
    null,
    now,
  );
  if (!saved.ok) throw new Error(`demo settings refused: ${JSON.stringify(saved.errors)}`);
  return saved.settings;
}
