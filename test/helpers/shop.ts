import { createDatabase, type DB } from '../../src/lib/db/database.ts';
import { migrateToLatest } from '../../src/lib/db/migrate.ts';
import { demoShop } from '../../src/demo/shop.ts';
import { findAllSettings, upsertSetting } from '../../src/lib/settings/settings.repository.ts';
import { clearSettingsCache } from '../../src/lib/settings/settings.service.ts';
import { copyMigratedTemplate } from './database-templates.ts';

/**
 * The details a configured shop has in Settings (the demo shop's postal address, place, phone and
 * hours), for tests of everything after the first steps. The sender is left to MAIL_FROM (or the
 * test's own settings). A fresh install has none of them: tests of that start without this.
 */
export const TEST_SHOP_SETTINGS = {
  postalAddress: 'Frobozz Electric, 12 Flathead Row\nPort Foozle',
  placeName: demoShop.placeName,
  phone: demoShop.phone,
  openingHours: demoShop.hours,
} as const;

/** Stores the test shop's details (and, with `sender`, a sender) where nothing is stored yet. */
export async function useTestShop(db: DB, options: { sender?: { name: string; address: string } } = {}): Promise<void> {
  const stored = new Set((await findAllSettings(db)).map((row) => row.key));
  const wanted: Record<string, unknown> = {
    ...TEST_SHOP_SETTINGS,
    ...(options.sender ? { senderName: options.sender.name, senderAddress: options.sender.address } : {}),
  };
  for (const [key, value] of Object.entries(wanted)) {
    if (!stored.has(key))
      await upsertSetting(db, { key, value: JSON.stringify(value), updated_at: Date.now(), updated_by: null });
  }
  clearSettingsCache(db);
}

/** Migrates a database that no server opened yet and stores the test shop's details in it. */
export async function prepareTestShopDatabase(databaseUrl: string): Promise<void> {
  copyMigratedTemplate(databaseUrl);
  const db = createDatabase(databaseUrl, { poolSize: 1 });
  try {
    await migrateToLatest(db);
    await useTestShop(db);
  } finally {
    await db.destroy();
  }
}
