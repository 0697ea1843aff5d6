import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { Kysely, SqliteDialect } from 'kysely';
import {
  defaultSettings,
  getSettings,
  isValidTimeZone,
  peekSettings,
  saveSettings,
  settingsCacheMs,
  type Settings,
} from '#lib/settings/settings.service.ts';
import { sqliteHandle, type DB } from '#lib/db/database.ts';
import { upsertSetting } from '#lib/settings/settings.repository.ts';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const defaults = defaultSettings({
  siteUrl: 'https://shop.example.com',
  mail: { from: 'Frobozz News <News@Frobozz.example>' },
});

const form = (changes: Record<string, unknown> = {}) => ({
  siteName: 'Frobozz Electric',
  siteUrl: 'https://shop.example.com/',
  senderName: 'Frobozz News',
  senderAddress: 'News@Frobozz.example',
  replyTo: '',
  postalAddress: '12 Flathead Row\r\nPort Foozle',
  timeZone: 'Europe/Amsterdam',
  openTracking: true,
  clickTracking: false,
  personTracking: true,
  attributionWindowDays: '7',
  retentionDays: '365',
  ...changes,
});

describe('time zones', () => {
  it('accepts IANA names only', () => {
    for (const zone of ['UTC', 'Europe/Amsterdam', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5'])
      expect(isValidTimeZone(zone), zone).toBe(true);
    for (const zone of ['Mars/Olympus_Mons', '+01:00', 'Europe/Amsterdam ', '', 'Europe/../../etc', 'x'.repeat(100)])
      expect(isValidTimeZone(zone), zone).toBe(false);
  });
});

describeEachDatabase('settings', (db) => {
  it('defaults come from the configuration while nothing is stored', async () => {
    const settings = await getSettings(db(), { defaults, now: T0 });
    expect(settings).toEqual(defaults);
    expect(settings.siteUrl).toBe('https://shop.example.com');
    expect(settings).toMatchObject({
      senderName: 'Frobozz News',
      senderAddress: 'news@frobozz.example',
      replyTo: null,
    });
    expect(defaultSettings({ siteUrl: 'http://127.0.0.1:4321', mail: { from: 'newsletter@localhost' } })).toMatchObject(
      { senderName: 'Frobozz Electric', senderAddress: 'newsletter@localhost' },
    );
  });

  it('saves a valid form, normalised, and reads it back at once', async () => {
    const saved = await saveSettings(db(), form(), null, T0);
    expect(saved.ok).toBe(true);
    const settings = await getSettings(db(), { now: T0 + 1 });
    expect(settings).toMatchObject<Partial<Settings>>({
      siteUrl: 'https://shop.example.com',
      senderAddress: 'news@frobozz.example',
      replyTo: null,
      postalAddress: '12 Flathead Row\nPort Foozle',
      timeZone: 'Europe/Amsterdam',
      clickTracking: false,
      attributionWindowDays: 7,
      retentionDays: 365,
    });
  });

  it('refuses bad values field by field, storing nothing', async () => {
    const result = await saveSettings(
      db(),
      form({
        siteUrl: 'javascript:alert(1)',
        timeZone: 'Moon/Base',
        senderAddress: 'not an address',
        senderName: 'Evil\r\nBcc: x@example.com',
        attributionWindowDays: '0',
        retentionDays: '12.5',
        replyTo: 'also wrong',
      }),
      null,
      T0,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual([
      'attributionWindowDays',
      'replyTo',
      'retentionDays',
      'senderAddress',
      'senderName',
      'siteUrl',
      'timeZone',
    ]);
    expect(result.errors.timeZone).toMatch(/IANA time zone/);
    expect(result.errors.senderName).toMatch(/line breaks/);
    expect((await saveSettings(db(), form({ attributionWindowDays: '60', retentionDays: '40' }), null, T0)).ok).toBe(
      false,
    );
  });

  it('is cached briefly; a save clears the cache; a corrupt stored value falls back to its default', async () => {
    await saveSettings(db(), form({ siteName: 'Before' }), null, T0);
    const first = await getSettings(db(), { now: T0 });
    await upsertSetting(db(), {
      key: 'siteName',
      value: JSON.stringify('Changed elsewhere'),
      updated_at: T0,
      updated_by: null,
    });
    expect((await getSettings(db(), { now: T0 + settingsCacheMs() - 1 })).siteName).toBe(first.siteName);
    expect((await getSettings(db(), { now: T0 + settingsCacheMs() })).siteName).toBe('Changed elsewhere');
    await upsertSetting(db(), {
      key: 'timeZone',
      value: JSON.stringify('Nowhere/Special'),
      updated_at: T0,
      updated_by: null,
    });
    await upsertSetting(db(), { key: 'retentionDays', value: '{not json', updated_at: T0, updated_by: null });
    const fallback = await getSettings(db(), { defaults, now: T0 });
    expect(fallback.timeZone).toBe(defaults.timeZone);
    expect(fallback.retentionDays).toBe(defaults.retentionDays);
  });
});

describeEachDatabase('settings on hot paths (peekSettings)', (db, dialect) => {
  it('answers without waiting and refreshes a stale cache with one query, however many hits ask meanwhile', async () => {
    if (dialect !== 'sqlite') return; // the refresh logic is the same for both; the query count is read off SQLite's statements
    let queries = 0;
    const counted: DB = new Kysely({
      dialect: new SqliteDialect({ database: sqliteHandle(db())! }),
      log: (event) => {
        if (event.query.sql.includes('"settings"')) queries++;
      },
    });
    await saveSettings(db(), form({ siteName: 'Peeked' }), null, T0);
    expect(Array.from({ length: 50 }, () => peekSettings(counted, T0))).toEqual(new Array(50).fill(undefined));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(queries).toBe(1);
    expect(peekSettings(counted, T0 + 1)?.siteName).toBe('Peeked');
    for (let i = 0; i < 50; i++) expect(peekSettings(counted, T0 + settingsCacheMs() + i)?.siteName).toBe('Peeked'); // stale, still answered
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(queries).toBe(2);
  });
});
