import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * `callers`: per caller hash, how many counted calls (kind 'call', not undone) from it are on
 * record in `offline_events` — a row only while there is at least one. It answers the
 * repeat-caller question of every incoming call (a row: a repeat caller) and replaces the index
 * `offline_events_from_hash`, which nothing else read: one entry per call at a random place, so
 * each call of a batch dirtied a page of its own, more than half of what a batch wrote to
 * SQLite's WAL (26 of 46 pages for 20 calls; docs/performance.md, "Calls"). This table has a row
 * per caller, not per call. Kept in step, in the same transaction, by whatever counts or
 * uncounts a call: the call writer, undo and restore, and the pruning of old raw rows.
 *
 * SQLite: WITHOUT ROWID, so the hash is the table's own key (one B-tree, not a table and an index).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('callers')
    .addColumn('from_hash', 'text', (c) => c.primaryKey())
    .addColumn('calls', 'integer', (c) => c.notNull().check(sql`calls > 0`))
    .$call((t) => (postgres ? t : t.modifyEnd(sql`without rowid`)))
    .execute();
  await sql`insert into callers (from_hash, calls)
    select from_hash, count(*) from offline_events
    where from_hash is not null and kind = 'call' and undone_at is null
    group by from_hash`.execute(db);
  await db.schema.dropIndex('offline_events_from_hash').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('offline_events_from_hash').on('offline_events').columns(['from_hash', 'at']).execute();
  await db.schema.dropTable('callers').execute();
}
