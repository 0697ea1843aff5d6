import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * `callers` becomes the set of caller hashes with a counted call on record, without how many.
 * With the count, every call rewrote its caller's row, so each call of a batch dirtied a page
 * of `callers` of its own: about half of what a commit wrote to SQLite's WAL (docs/performance.md,
 * "Calls"). Without it, a repeat caller's call writes nothing there; undo, restore and pruning
 * ask `offline_events` whether the caller still has a counted call (callers.repository.ts).
 * Rebuilt from the calls on record both ways, as 2026_12_25_110000 built it.
 */
async function createCallers(db: Kysely<any>, withCount: boolean): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema.dropTable('callers').execute();
  await db.schema
    .createTable('callers')
    .addColumn('from_hash', 'text', (c) => c.primaryKey())
    .$call((t) => (withCount ? t.addColumn('calls', 'integer', (c) => c.notNull().check(sql`calls > 0`)) : t))
    .$call((t) => (postgres ? t : t.modifyEnd(sql`without rowid`)))
    .execute();
  await (
    withCount
      ? sql`insert into callers (from_hash, calls)
        select from_hash, count(*) from offline_events
        where from_hash is not null and kind = 'call' and undone_at is null
        group by from_hash`
      : sql`insert into callers (from_hash)
        select distinct from_hash from offline_events
        where from_hash is not null and kind = 'call' and undone_at is null`
  ).execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await createCallers(db, false);
}

export async function down(db: Kysely<any>): Promise<void> {
  await createCallers(db, true);
}
