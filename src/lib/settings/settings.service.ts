import type { DB } from '../db/database.ts';
import { getConfig } from '../config.ts';
import { defaultSettings, settingsSchema, type Settings, type SettingsInput } from './settings.ts';
import { findAllSettings, upsertSetting } from './settings.repository.ts';

export {
  defaultSettings,
  isSenderSet,
  isValidTimeZone,
  openingHoursText,
  senderMailbox,
  settingsSchema,
  type OpeningHoursLine,
  type Settings,
  type SettingsInput,
} from './settings.ts';

/**
 * Settings are read on every send and report; they change rarely, so a read is kept this long
 * (SETTINGS_CACHE_MS, 5 s by default): a save in another process shows here after it.
 */
export function settingsCacheMs(): number {
  return getConfig().settingsCacheMs;
}

// The server entry and Astro's bundle each get their own copy of this module: the cache lives on
// globalThis so that a save in one (Settings, in Astro) clears it for the other (the server
// entry's static pages and tracking) at once.
const CACHE_KEY = Symbol.for('footfall.settingsCache');
const REFRESHING_KEY = Symbol.for('footfall.settingsRefreshing');
interface Holder {
  [CACHE_KEY]?: WeakMap<DB, { settings: Readonly<Settings>; at: number }>;
  [REFRESHING_KEY]?: WeakMap<DB, Promise<unknown>>;
}
const holder = globalThis as Holder;
const cache = (holder[CACHE_KEY] ??= new WeakMap());

/** Stored values laid over the defaults; a stored value that no longer validates falls back to its default. */
function merge(defaults: Settings, rows: { key: string; value: string }[]): Settings {
  const stored: Record<string, unknown> = {};
  for (const { key, value } of rows) {
    if (!Object.hasOwn(defaults, key)) continue;
    try {
      stored[key] = JSON.parse(value);
    } catch {
      // Unreadable: the default stands.
    }
  }
  const merged: Record<string, unknown> = { ...defaults };
  const shape = settingsSchema.shape;
  for (const [key, value] of Object.entries(stored)) {
    const parsed = shape[key as keyof Settings].safeParse(value);
    if (parsed.success) merged[key] = parsed.data;
  }
  return merged as unknown as Settings;
}

/**
 * The site's settings (defaults from config.ts where nothing is stored). Cached for a few
 * seconds per database; saveSettings in this process clears the cache at once.
 */
export async function getSettings(
  db: DB,
  options: { now?: number; defaults?: Settings } = {},
): Promise<Readonly<Settings>> {
  const now = options.now ?? Date.now();
  const hit = cache.get(db);
  if (hit && now - hit.at < settingsCacheMs() && !options.defaults) return hit.settings;
  const settings = Object.freeze(merge(options.defaults ?? defaultSettings(getConfig()), await findAllSettings(db)));
  if (!options.defaults) cache.set(db, { settings, at: now });
  return settings;
}

/**
 * The cached settings without waiting (for hot paths that cannot await a query): undefined
 * before the first read; a stale cache is refreshed in the background.
 */
export function peekSettings(db: DB, now = Date.now()): Readonly<Settings> | undefined {
  const hit = cache.get(db);
  if ((!hit || now - hit.at >= settingsCacheMs()) && !refreshing.has(db)) {
    // One refresh at a time: every hit until it lands would otherwise start its own query.
    refreshing.set(
      db,
      getSettings(db, { now }).then(
        () => refreshing.delete(db),
        () => refreshing.delete(db),
      ),
    );
  }
  return hit?.settings;
}

const refreshing = (holder[REFRESHING_KEY] ??= new WeakMap());

export type SaveSettingsResult =
  { ok: true; settings: Readonly<Settings> } | { ok: false; errors: Partial<Record<keyof Settings, string>> };

/** Validates the whole form and stores every field in one transaction. */
export async function saveSettings(
  db: DB,
  input: SettingsInput,
  updatedBy: number | null,
  now = Date.now(),
): Promise<SaveSettingsResult> {
  const parsed = settingsSchema.safeParse(input);
  if (!parsed.success) {
    const errors: Partial<Record<keyof Settings, string>> = {};
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? 'siteName') as keyof Settings;
      errors[key] ??= issue.message;
    }
    return { ok: false, errors };
  }
  await db.transaction().execute(async (trx) => {
    for (const [key, value] of Object.entries(parsed.data)) {
      await upsertSetting(trx, { key, value: JSON.stringify(value), updated_at: now, updated_by: updatedBy });
    }
  });
  cache.delete(db);
  return { ok: true, settings: await getSettings(db, { now }) };
}

export function clearSettingsCache(db: DB): void {
  cache.delete(db);
}
