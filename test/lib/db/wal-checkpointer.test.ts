import { copyFileSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from '#lib/db/database.ts';
import { startWalCheckpointer, type WalCheckpointer } from '#lib/db/wal-checkpointer.ts';

const FRAME = 4096 + 24;
let open: { sqlite: BetterSqlite3.Database; checkpointer?: WalCheckpointer }[] = [];

afterEach(async () => {
  for (const o of open) {
    await o.checkpointer?.stop();
    o.sqlite.close();
  }
  open = [];
});

function database() {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'footfall-wal-')), 'footfall.db');
  const sqlite = openSqlite(file);
  sqlite.exec('create table notes (id integer primary key, body blob not null)');
  const entry: (typeof open)[number] = { sqlite };
  open.push(entry);
  return { file, sqlite, entry, insert: sqlite.prepare('insert into notes (body) values (?)') };
}

/** Rows in the database file alone, as a copy without its WAL would open: what checkpoints have copied (copied with no checkpoint running). */
function rowsInFile(file: string): number {
  const copy = `${file}.copy-${Math.random().toString(36).slice(2)}`;
  copyFileSync(file, copy);
  const db = new BetterSqlite3(copy, { readonly: true });
  try {
    const table = db.prepare("select 1 from sqlite_master where name = 'notes'").get();
    return table ? (db.prepare('select count(*) as n from notes').get() as { n: number }).n : 0;
  } finally {
    db.close();
  }
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('WAL checkpoints in a thread of their own', () => {
  it('copies committed rows into the database file while the writer does not checkpoint', async () => {
    const { file, sqlite, entry, insert } = database();
    for (let i = 0; i < 200; i++) insert.run(Buffer.alloc(1000, i)); // ~200 frames: below the writer's own threshold
    expect(rowsInFile(file)).toBe(0); // all of it still only in the WAL

    // The thread's first checkpoint copies everything committed before it started; stopped, nothing is mid-copy.
    const first = (entry.checkpointer = startWalCheckpointer(sqlite, { intervalMs: 10 })!);
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
    await until(() => first.checkpoints > 0);
    await first.stop();
    expect(rowsInFile(file)).toBe(200);

    for (let i = 0; i < 50; i++) insert.run(Buffer.alloc(1000, i));
    expect(rowsInFile(file)).toBe(200);
    const second = (entry.checkpointer = startWalCheckpointer(sqlite, { intervalMs: 10 })!);
    await until(() => second.checkpoints > 0);
    await second.stop();
    entry.checkpointer = undefined;
    expect(rowsInFile(file)).toBe(250);
  });

  it('keeps the WAL bounded under writes that never pause, and hands checkpoints back to the writer when stopped', async () => {
    const { file, sqlite, entry, insert } = database();
    const checkpointer = (entry.checkpointer = startWalCheckpointer(sqlite, { intervalMs: 50 })!);
    let largest = 0;
    // ~50,000 frames with no pause in between: the WAL is never reset behind the thread, so the
    // writer's backstop does it from 10,000 frames (a little later when the thread holds the checkpoint).
    for (let i = 0; i < 50_000; i++) {
      insert.run(Buffer.alloc(1000, i));
      if (i % 500 === 0) largest = Math.max(largest, statSync(`${file}-wal`).size);
    }
    // 10,000–11,700 frames seen on a quiet machine, 22,900 once on a loaded CI machine (the thread's
    // checkpoint, holding the lock, ran slowly); without the backstop it would end past 50,000.
    expect(largest).toBeLessThan(40_000 * FRAME);
    expect(sqlite.prepare('select count(*) as n from notes').get()).toEqual({ n: 50_000 });

    await checkpointer.stop();
    entry.checkpointer = undefined;
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    const after = checkpointer.checkpoints;
    for (let i = 0; i < 20; i++) insert.run(Buffer.alloc(1000, i));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(checkpointer.checkpoints).toBe(after);
  });

  it('is not started for an in-memory database', () => {
    const sqlite = new BetterSqlite3(':memory:');
    expect(startWalCheckpointer(sqlite)).toBeUndefined();
    sqlite.close();
  });
});
