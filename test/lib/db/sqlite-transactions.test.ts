import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type DB } from '#lib/db/database.ts';

describe('SQLite transactions against another connection to the same file', () => {
  let db: DB | undefined;
  let other: BetterSqlite3.Database | undefined;
  afterEach(async () => {
    other?.close();
    await db?.destroy();
  });

  it('a transaction that reads and then writes holds the write lock from its start: another writer waits for it, and its own write never fails with "database is locked"', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'footfall-sqlite-tx-')), 'footfall.db');
    db = createDatabase(`sqlite:${file}`);
    await sql`create table tally (n integer not null)`.execute(db);
    await sql`insert into tally (n) values (1)`.execute(db);
    // Another process's connection (a second server, the worker, a script), impatient here.
    other = new BetterSqlite3(file, { timeout: 50 });
    await db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ n: number }>`select max(n) as n from tally`.execute(trx);
      // A deferred transaction would let this write in, and then fail its own write below at once.
      expect(() => other!.prepare('insert into tally (n) values (100)').run()).toThrow(/locked|busy/i);
      await sql`insert into tally (n) values (${rows[0]!.n + 1})`.execute(trx);
    });
    other.prepare('insert into tally (n) values (100)').run(); // free again once it committed
    const { rows } = await sql<{ n: number }>`select n from tally order by rowid`.execute(db);
    expect(rows.map((r) => r.n)).toEqual([1, 2, 100]);
  });
});
