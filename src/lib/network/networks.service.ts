import { parseNetworkOverrides } from './admin-networks.ts';
import type { LoadedAsnTables } from './asn-data.ts';
import { loadNetworkLookup, type NetworkTable } from './network-lookup.ts';
import type { NetworkLookup, NetworkOwner } from './network.ts';

export { NetworkDataError } from './asn-data.ts';

/** The process's lookup: the data set and reviewed table, with the admins' networks from Settings. */
export interface Networks extends NetworkLookup {
  /** Bytes the tables hold, and how they were loaded (from the cache or compiled, and how long it took). */
  readonly info: Omit<LoadedAsnTables, 'tables'> & { byteLength: number };
  /**
   * The answer with these admins' networks (Settings text): the settings page shows a saved
   * change at once, while lookups elsewhere pick it up when their settings cache refreshes.
   */
  lookupWith(ip: string, overridesText: string): NetworkOwner;
}

/**
 * Loads the tables (throws a NetworkDataError naming the file when they cannot be used) and
 * applies `overrides()` — the Settings text, read from its few-seconds cache — whenever it changes.
 */
export function openNetworks(options: {
  dataDir?: string;
  cacheDir?: string;
  overrides: () => string | undefined;
}): Networks {
  const { networks, load } = loadNetworkLookup({ sourceDir: options.dataDir, cacheDir: options.cacheDir });
  return bindOverrides(networks, options.overrides, { ...load, byteLength: networks.byteLength });
}

export function bindOverrides(
  table: NetworkTable,
  overrides: () => string | undefined,
  info: Networks['info'],
): Networks {
  let applied = '';
  let preview: { text: string; table: NetworkTable } | undefined;
  return {
    info,
    lookupWith(ip: string, overridesText: string): NetworkOwner {
      if (preview?.text !== overridesText) {
        const parsed = parseNetworkOverrides(overridesText);
        preview = { text: overridesText, table: table.withOverrides(parsed.ok ? parsed.overrides : []) };
      }
      return preview.table.lookup(ip);
    },
    lookup(ip: string): NetworkOwner {
      const text = overrides() ?? '';
      if (text !== applied) {
        applied = text;
        // Stored text was checked when saved; a line that no longer parses drops the whole list, loudly.
        const parsed = parseNetworkOverrides(text);
        if (!parsed.ok) console.error(`[networks] the networks in Settings are ignored: ${parsed.errors.join(' ')}`);
        table.applyOverrides(parsed.ok ? parsed.overrides : [], text);
      }
      return table.lookup(ip);
    },
  };
}
