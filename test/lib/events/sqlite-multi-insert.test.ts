import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqliteMultiInsert } from '../../../src/lib/events/sqlite-multi-insert.ts';

describe('sqliteMultiInsert', () => {
  it('stores every row in order, 32 a statement, with one statement per row count made once', () => {
    const sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('create table t (id integer primary key, a integer not null, b text)');
    const rowsOf = sqliteMultiInsert('t', ['a', 'b']);
    const rows = rowsOf(sqlite);
    expect(rowsOf(sqlite)).toBe(rows);
    for (const count of [0, 1, 31, 32, 33, 70]) {
      sqlite.exec('delete from t');
      rows.insert(Array.from({ length: count }, (_, i) => [i, i % 3 === 0 ? null : `r${i}`]).flat());
      expect(sqlite.prepare('select a, b from t order by id').all()).toEqual(Array.from({ length: count }, (_, i) => ({ a: i, b: i % 3 === 0 ? null : `r${i}` })));
    }
    sqlite.close();
  });

  it('refuses values that are not whole rows, storing nothing', () => {
    const sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('create table t (a integer, b integer)');
    expect(() => sqliteMultiInsert('t', ['a', 'b'])(sqlite).insert([1, 2, 3])).toThrow(RangeError);
    expect(sqlite.prepare('select count(*) as n from t').get()).toEqual({ n: 0 });
    sqlite.close();
  });

  it('as an upsert, adds to the rows already there and inserts the others, 32 a statement', () => {
    const sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('create table counts (k text primary key, n integer not null)');
    const add = sqliteMultiInsert('counts', ['k', 'n'], 'on conflict ("k") do update set "n" = "counts"."n" + excluded."n"')(sqlite);
    add.insert(Array.from({ length: 40 }, (_, i) => [`k${i}`, 1]).flat());
    add.insert(Array.from({ length: 50 }, (_, i) => [`k${i}`, 2]).flat());
    expect(sqlite.prepare('select k, n from counts order by n, k').all()).toEqual([
      ...Array.from({ length: 10 }, (_, i) => ({ k: `k${40 + i}`, n: 2 })).sort((a, b) => a.k.localeCompare(b.k)),
      ...Array.from({ length: 40 }, (_, i) => ({ k: `k${i}`, n: 3 })).sort((a, b) => a.k.localeCompare(b.k)),
    ]);
    sqlite.close();
  });
});
