import { beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { loadNetworkLookup, type NetworkTable } from '#lib/network/network-lookup.ts';
import { bindOverrides, type Networks } from '#lib/network/networks.service.ts';
import { defaultSettings, peekSettings, saveSettings, settingsCacheMs } from '#lib/settings/settings.service.ts';
import { upsertSetting } from '#lib/settings/settings.repository.ts';

const T0 = Date.UTC(2026, 11, 6, 9, 0, 0);
const form = (networkOverrides: string) => ({
  ...defaultSettings({ siteUrl: 'https://shop.example.com', mail: { from: 'News <news@frobozz.example>' } }),
  timeZone: 'UTC',
  postalAddress: '12 Flathead Row\nPort Foozle',
  networkOverrides,
});

let table: NetworkTable;
beforeAll(() => {
  table = loadNetworkLookup().networks;
});

describeEachDatabase("admins' networks from Settings", (db) => {
  it('reach lookups without a restart: at once in this process, within the settings cache elsewhere', async () => {
    let now = T0;
    const networks: Networks = bindOverrides(table, () => peekSettings(db(), now)?.networkOverrides, {
      from: 'cache',
      cacheFile: '',
      milliseconds: 0,
      byteLength: 0,
    });
    expect(networks.lookup('198.51.100.7')).toMatchObject({ role: 'private', roleSource: 'reserved' }); // settings not read yet
    const saved = await saveSettings(db(), form('198.51.100.0/24 security_gateway Our filter'), null, now);
    expect(saved.ok).toBe(true);
    expect(networks.lookup('198.51.100.7')).toMatchObject({
      role: 'security_gateway',
      roleSource: 'admin',
      label: 'Our filter',
    });

    // Another process saves: this one sees it once its cached settings are older than SETTINGS_CACHE_MS.
    await upsertSetting(db(), {
      key: 'networkOverrides',
      value: JSON.stringify('AS15169 cloud Google is a cloud here'),
      updated_at: now,
      updated_by: null,
    });
    expect(networks.lookup('66.249.84.1')).toMatchObject({ role: 'mail_proxy', roleSource: 'table' });
    now += settingsCacheMs();
    networks.lookup('66.249.84.1'); // starts the refresh
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(networks.lookup('66.249.84.1')).toMatchObject({
      role: 'cloud',
      roleSource: 'admin',
      label: 'Google is a cloud here',
    });
    expect(networks.lookup('198.51.100.7')).toMatchObject({ roleSource: 'reserved' });

    // lookupWith previews other text without touching what lookups answer.
    expect(networks.lookupWith('66.249.84.1', '')).toMatchObject({ role: 'mail_proxy', roleSource: 'table' });
    expect(networks.lookup('66.249.84.1')).toMatchObject({ role: 'cloud', roleSource: 'admin' });
  });

  it('a bad list is refused field by field and never stored', async () => {
    const result = await saveSettings(db(), form('203.0.113.0/24 cloud\n203.0.113.0/25 nonsense'), null, T0);
    expect(result).toEqual({
      ok: false,
      errors: {
        networkOverrides:
          'Line 2: “nonsense” is not a role; use one of security_gateway, cloud, mail_proxy, apple, web_proxy, access, private. Nothing was saved.',
      },
    });
  });
});
