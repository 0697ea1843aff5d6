import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { describeEachDatabase } from '../../helpers/databases.ts';
import { EventWriter, type BatchInserter } from '#lib/events/event-writer.ts';
import type { Database } from '#lib/db/schema.ts';
import { countPageViews, pageViewInserter, type NewPageView } from '#lib/analytics/page-views.repository.ts';

function view(i: number, extra: Partial<NewPageView> = {}): NewPageView {
  return { at: 1_700_000_000_000 + i, path: `/p/${i}`, visitor_hash: `v${i}`, device: 'desktop', is_bot: 0, ...extra };
}

describeEachDatabase('event writer', (db, dialect) => {
  it('groups concurrent writes into few transactions and resolves each after commit', async () => {
    const before = await countPageViews(db());
    let transactions = 0;
    const counted: BatchInserter<Database, NewPageView> = {
      kysely: async (trx, rows) => {
        transactions++;
        await pageViewInserter.kysely(trx, rows);
      },
      sqlite: (sqlite, rows) => {
        transactions++;
        pageViewInserter.sqlite(sqlite, rows);
      },
    };
    const writer = new EventWriter(db(), { counted }, { maxWaitMs: 5, maxBatch: 2000 });
    await Promise.all(Array.from({ length: 1500 }, (_, i) => writer.write(counted, view(i))));
    expect(await countPageViews(db())).toBe(before + 1500);
    expect(transactions).toBeLessThan(10);
    await writer.close();
  });

  it.skipIf(dialect !== 'postgres')(
    'on PostgreSQL several batches commit at once: one held up does not hold up the next, and each write resolves when its own transaction committed',
    async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let batches = 0;
      const firstHeld: BatchInserter<Database, NewPageView> = {
        kysely: async (trx, rows) => {
          if (++batches === 1) await gate;
          await pageViewInserter.kysely(trx, rows);
        },
        sqlite: pageViewInserter.sqlite,
      };
      const writer = new EventWriter(db(), { firstHeld }, { maxWaitMs: 0, maxBatch: 1, concurrency: 2 });
      const stored = async () =>
        (
          await db()
            .selectFrom('page_views')
            .select('path')
            .where('path', 'in', ['/p/800001', '/p/800002'])
            .orderBy('path')
            .execute()
        ).map((r) => r.path);
      let heldDone = false;
      const held = writer.write(firstHeld, view(800_001)).then(() => (heldDone = true));
      await writer.write(firstHeld, view(800_002));
      expect(heldDone).toBe(false);
      expect(await stored()).toEqual(['/p/800002']);
      release();
      await held;
      expect(await stored()).toEqual(['/p/800001', '/p/800002']);
      await writer.close();
    },
  );

  it('a hit written while another transaction is open commits on its own: that transaction rolling back loses nothing', async () => {
    const before = await countPageViews(db());
    const writer = new EventWriter(db(), { pageViewInserter }, { maxWaitMs: 0, maxBatch: 100 });
    let written: Promise<void> | undefined;
    await db()
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('page_views').values(view(900_001)).execute();
        written = writer.write(pageViewInserter, view(900_002));
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('roll back');
      })
      .catch((error: unknown) => expect(error).toMatchObject({ message: 'roll back' }));
    await written;
    expect(await countPageViews(db())).toBe(before + 1);
    expect(
      (
        await db().selectFrom('page_views').select('path').where('path', 'in', ['/p/900001', '/p/900002']).execute()
      ).map((r) => r.path),
    ).toEqual(['/p/900002']);
    await writer.close();
  });

  it('a row the database rejects fails alone; its neighbours commit', async () => {
    const before = await countPageViews(db());
    const errors: unknown[] = [];
    const writer = new EventWriter(
      db(),
      { pageViewInserter },
      { maxWaitMs: 5, maxBatch: 100, onError: (e) => errors.push(e) },
    );
    const results = await Promise.allSettled([
      writer.write(pageViewInserter, view(1)),
      writer.write(pageViewInserter, { ...view(2), path: null as unknown as string }),
      writer.write(pageViewInserter, view(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await countPageViews(db())).toBe(before + 2);
    expect(errors).toHaveLength(1);
    await writer.close();
  });

  it('flush on close commits what is queued, and refuses writes after', async () => {
    const before = await countPageViews(db());
    const writer = new EventWriter(db(), { pageViewInserter }, { maxWaitMs: 1000, maxBatch: 10_000 });
    const pending = Array.from({ length: 50 }, (_, i) => writer.write(pageViewInserter, view(i)));
    await writer.close();
    await Promise.all(pending);
    expect(await countPageViews(db())).toBe(before + 50);
    await expect(writer.write(pageViewInserter, view(99))).rejects.toThrow(/closed/);
  });

  it('refuses a row handed with an inserter it was not built with, and writes nothing', async () => {
    const before = await countPageViews(db());
    const writer = new EventWriter(db(), { pageViewInserter }, { maxWaitMs: 0, maxBatch: 100 });
    const stranger = { ...pageViewInserter };
    await expect(writer.write(stranger, view(700_001))).rejects.toThrow(/inserter it was not built with/);
    await writer.close();
    expect(await countPageViews(db())).toBe(before);
  });

  it(`stores epoch milliseconds as numbers (${dialect})`, async () => {
    const row = await db().selectFrom('page_views').select(['at', 'is_bot']).limit(1).executeTakeFirstOrThrow();
    expect(typeof row.at).toBe('number');
    expect(row.at).toBeGreaterThan(1_600_000_000_000);
    const count = await sql<{ n: number }>`select count(*) as n from page_views`.execute(db());
    expect(typeof count.rows[0]!.n).toBe('number');
  });
});

describe('event writer without a database', () => {
  it('commits a full batch at once, without waiting for the timer', async () => {
    const batches: number[] = [];
    const fakeDb = { transaction: () => ({ execute: async (fn: (t: unknown) => Promise<void>) => fn({}) }) };
    const record = (_t: unknown, rows: unknown[]) => void batches.push(rows.length);
    const recorded = { kysely: async (t: unknown, rows: unknown[]) => record(t, rows), sqlite: record };
    const writer = new EventWriter(fakeDb as never, { recorded }, { maxWaitMs: 60_000, maxBatch: 10 });
    await Promise.all(Array.from({ length: 25 }, (_, i) => writer.write(recorded, view(i))).slice(0, 20));
    expect(batches.slice(0, 2)).toEqual([10, 10]);
    await writer.close();
    expect(batches.reduce((a, b) => a + b, 0)).toBe(25);
  });

  it('a partial batch waits up to maxTurns more event-loop turns while hits keep arriving; a turn without new hits commits', async () => {
    const batchesWith = async (maxTurns: number) => {
      const batches: number[] = [];
      const fakeDb = { transaction: () => ({ execute: async (fn: (t: unknown) => Promise<void>) => fn({}) }) };
      const record = (_t: unknown, rows: unknown[]) => void batches.push(rows.length);
      const recorded = { kysely: async (t: unknown, rows: unknown[]) => record(t, rows), sqlite: record };
      const writer = new EventWriter(fakeDb as never, { recorded }, { maxWaitMs: 0, maxTurns, maxBatch: 100 });
      const written = [writer.write(recorded, view(1)), writer.write(recorded, view(2))];
      // One more hit in each of the next three turns (each registered after the writer's own end-of-turn check).
      await new Promise<void>((resolve) => {
        let turn = 0;
        const next = () => {
          written.push(writer.write(recorded, view(3 + turn)));
          if (++turn < 3) setImmediate(next);
          else resolve();
        };
        setImmediate(next);
      });
      await Promise.all(written);
      await writer.close();
      return batches;
    };
    // Two hits in the first turn, then one a turn: the batch waits two turns, then commits 4; the
    // last hit arrives alone in its turn and commits at the end of it.
    expect(await batchesWith(2)).toEqual([4, 1]);
    expect(await batchesWith(0)).toEqual([2, 1, 1, 1]);
    expect(await batchesWith(10)).toEqual([5]);
  });

  it('resolves each write with its own row’s result, also when a failed batch is retried row by row', async () => {
    const fakeDb = { transaction: () => ({ execute: async (fn: (t: unknown) => Promise<void>) => fn({}) }) };
    const double = {
      kysely: async (_t: unknown, rows: number[]) => {
        if (rows.includes(13)) throw new Error('unlucky row');
        return rows.map((n) => n * 2);
      },
      sqlite: (_t: unknown, rows: number[]) => rows.map((n) => n * 2),
    };
    const other = { kysely: async () => {}, sqlite: () => {} };
    const writer = new EventWriter(
      fakeDb as never,
      { double, other },
      { maxWaitMs: 0, maxBatch: 50, onError: () => {} },
    );
    const written = [1, 2, 3].map((n) => writer.write(double, n));
    const otherWritten = writer.write(other, 7);
    expect(await Promise.all(written)).toEqual([2, 4, 6]);
    await expect(otherWritten).resolves.toBeUndefined();
    const retried = [11, 12, 13, 14].map((n) =>
      writer.write(double, n).catch((e: unknown) => (e instanceof Error ? e.message : e)),
    );
    expect(await Promise.all(retried)).toEqual([22, 24, 'unlucky row', 28]);
    await writer.close();
  });
});
