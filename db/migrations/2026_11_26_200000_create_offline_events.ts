import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Offline events: phone calls and walk-ins from the tally page, the admin, CSV imports and the
 * call-tracking webhook, each optionally credited to an issue. No caller number is stored, only a
 * keyed hash.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const id = postgres ? 'bigserial' : 'integer';

  await db.schema
    .createTable('offline_events')
    .addColumn('id', id, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('call', 'walk_in')`))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('tally', 'manual', 'csv', 'webhook')`))
    .addColumn('recorded_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('mentioned_newsletter', 'integer', (c) => c.check(sql`mentioned_newsletter in (0, 1)`))
    .addColumn('note', 'text', (c) => c.check(sql`length(note) <= 500`))
    .addColumn('issue_id', 'bigint', (c) => c.references('issues.id').onDelete('set null'))
    .addColumn('client_id', 'text', (c) => c.unique().check(sql`length(client_id) <= 100`))
    .addColumn('from_hash', 'text')
    .addColumn('to_number', 'text', (c) => c.check(sql`length(to_number) <= 32`))
    .addColumn('duration_s', 'integer', (c) => c.check(sql`duration_s >= 0`))
    .addColumn('undone_at', 'bigint')
    .addColumn('undone_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .execute();
  await db.schema.createIndex('offline_events_kind_at').on('offline_events').columns(['kind', 'at']).execute();
  await db.schema.createIndex('offline_events_at').on('offline_events').column('at').execute();
  await db.schema.createIndex('offline_events_issue_id').on('offline_events').columns(['issue_id', 'at']).execute();
  await db.schema
    .createIndex('offline_events_recorded_by')
    .on('offline_events')
    .columns(['recorded_by', 'recorded_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('offline_events').execute();
}
