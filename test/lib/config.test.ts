import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/lib/config.ts';
import { loadServerSecret } from '../../src/lib/security/server-secret.ts';
import { parseDatabaseUrl } from '../../src/lib/db/database.ts';

describe('config', () => {
  it('has embedded defaults: SQLite under ./data, port 4321, frozen', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4321);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databaseUrl).toBe(`sqlite:${path.resolve('data/footfall.db')}`);
    expect(config.siteUrl).toBe('http://127.0.0.1:4321');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('fails naming each invalid variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ SITE_URL: 'ftp://x' })).toThrow(/SITE_URL/);
    expect(() => loadConfig({ SECRET: 'short' })).toThrow(/SECRET/);
    expect(() => loadConfig({ EVENT_WRITER_MAX_TURNS: '-1' })).toThrow(/EVENT_WRITER_MAX_TURNS/);
    expect(() => loadConfig({ EVENT_WRITER_MAX_TURNS: 'many' })).toThrow(/EVENT_WRITER_MAX_TURNS/);
  });

  it('lets a partial event batch wait up to two more event-loop turns by default, or as many as set', () => {
    expect(loadConfig({}).eventWriter).toEqual({ maxWaitMs: 0, maxTurns: 2, maxBatch: 2000, concurrency: 1 });
    expect(loadConfig({ EVENT_WRITER_MAX_TURNS: '0' }).eventWriter.maxTurns).toBe(0);
  });

  it('keeps Settings read 5 s by default, or as long as SETTINGS_CACHE_MS says (0.1 to 60 s)', () => {
    expect(loadConfig({}).settingsCacheMs).toBe(5000);
    expect(loadConfig({ SETTINGS_CACHE_MS: '250' }).settingsCacheMs).toBe(250);
    expect(() => loadConfig({ SETTINGS_CACHE_MS: '10' })).toThrow(/SETTINGS_CACHE_MS/);
  });

  it('chooses the dialect from DATABASE_URL', () => {
    expect(parseDatabaseUrl('postgres://u@h/db').dialect).toBe('postgres');
    expect(parseDatabaseUrl('sqlite:./x.db')).toEqual({ dialect: 'sqlite', target: path.resolve('x.db') });
    expect(parseDatabaseUrl('/tmp/y.db')).toEqual({ dialect: 'sqlite', target: '/tmp/y.db' });
  });

  it('generates the server secret once, mode 600, and keeps it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'footfall-secret-'));
    const first = loadServerSecret(dir);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(statSync(path.join(dir, 'secret')).mode & 0o777).toBe(0o600);
    expect(loadServerSecret(dir)).toBe(first);
    expect(readFileSync(path.join(dir, 'secret'), 'utf8').trim()).toBe(first);
    expect(loadServerSecret(dir, 'x'.repeat(40))).toBe('x'.repeat(40));
  });
});
