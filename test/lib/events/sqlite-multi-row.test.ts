import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqliteMultiInsert, sqliteMultiUpdate } from '#lib/events/sqlite-multi-row.ts';

describe('sqliteMultiInsert', () => {
  it('stores every row in order, 32 a statement, with one statement per row count made once', () => {
    const sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('create table t (id integer primary key, a integer not null, b text)');
    const rowsOf = sqliteMultiInsert('t', ['a', 'b']);
    const rows = rowsOf(sqlite);
    expect(rowsOf(sqlite)).toBe(rows);
    for (const count of [0, 1, 31, 32, 33, 70]) {
      sqlite.exec('delete from t');
      rows.run(Array.from({ length: count }, (_, i) => [i, i % 3 === 0 ? null : `r${i}`]).flat());
      expect(sqlite.prepare('select a, b from t order by id').all()).toEqual(
        Array.from({ length: count }, (_, i) => ({ a: i, b: i % 3 === 0 ? null : `r${i}` })),
      );
    }
    sqlite.close();
  });

  it('refuses values that are not whole rows, storing nothing', () => {
    const sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('create table t (a integer, b integer)');
    expect(() => sqliteMultiInsert('t', ['a', 'b'])(sqlite).run([1, 2, 3])).toThrow(RangeError);
    expect(sqlite.prepare('select count(*) as n from t').get()).toEqual({ n: 0 });
    sqlite.close();
  });

  it('as an upsert, adds to the rows already there and inserts the others, 32 a statement', () => {
    const sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('create table counts (k text primary key, n integer not null)');
    const add = sqliteMultiInsert(
      'counts',
      ['k', 'n'],
      'on conflict ("k") do update set "n" = "counts"."n" + excluded."n"',
    )(sqlite);
    add.run(Array.from({ length: 40 }, (_, i) => [`k${i}`, 1]).flat());
    add.run(Array.from({ length: 50 }, (_, i) => [`k${i}`, 2]).flat());
    expect(sqlite.prepare('select k, n from counts order by n, k').all()).toEqual([
      ...Array.from({ length: 10 }, (_, i) => ({ k: `k${40 + i}`, n: 2 })).sort((a, b) => a.k.localeCompare(b.k)),
      ...Array.from({ length: 40 }, (_, i) => ({ k: `k${i}`, n: 3 })).sort((a, b) => a.k.localeCompare(b.k)),
    ]);
    sqlite.close();
  });
});

describe('sqliteMultiUpdate', () => {
  it('sets each listed row by its key, 32 a statement, and leaves the others as they were', () => {
    const sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('create table d (id integer primary key, a integer, b text, c text not null)');
    const insert = sqlite.prepare('insert into d (id, a, b, c) values (?, null, null, ?)');
    for (let id = 1; id <= 100; id++) insert.run(id, `kept ${id}`);
    const set = sqliteMultiUpdate('d', 'id', ['a', 'b']);
    const rows = set(sqlite);
    expect(set(sqlite)).toBe(rows);
    // 70 rows, out of order, every other id from 100 down: three statements (32, 32, 6).
    const ids = Array.from({ length: 70 }, (_, i) => (i < 50 ? 100 - 2 * i : 101 - 2 * (i - 49)));
    rows.run(ids.flatMap((id) => [id, id * 10, id % 5 === 0 ? null : `b${id}`]));
    const updated = new Set(ids);
    expect(sqlite.prepare('select id, a, b, c from d order by id').all()).toEqual(
      Array.from({ length: 100 }, (_, i) => {
        const id = i + 1;
        return updated.has(id)
          ? { id, a: id * 10, b: id % 5 === 0 ? null : `b${id}`, c: `kept ${id}` }
          : { id, a: null, b: null, c: `kept ${id}` };
      }),
    );
    rows.run([]);
    expect(sqlite.prepare('select count(*) as n from d where a is not null').get()).toEqual({ n: 70 });
    sqlite.close();
  });

  it('refuses values that are not whole rows of a key and its columns, changing nothing', () => {
    const sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('create table d (id integer primary key, a integer, b integer)');
    sqlite.exec('insert into d (id) values (1), (2)');
    expect(() => sqliteMultiUpdate('d', 'id', ['a', 'b'])(sqlite).run([1, 10, 20, 2, 30])).toThrow(RangeError);
    expect(sqlite.prepare('select count(*) as n from d where a is not null or b is not null').get()).toEqual({ n: 0 });
    sqlite.close();
  });
});
